// CREATE OR REPLACE VIEW / FUNCTION / PROCEDURE, and DROP VIEW / FUNCTION, change an object the
// serving version may call: it now gets other columns, other results or nothing at all. The
// linter cannot tell a new object from an existing one when the statement says OR REPLACE, so a
// new one should be written with a plain CREATE (which fails, rather than overwrites, if it
// exists). Objects created earlier in this file are new.
import type { CreateFunctionStmt, DropStmt, ViewStmt } from 'libpg-query';
import type { LintFileContext, LintStatement, Rule, RuleHit } from '../lint-types.ts';
import { dottedName, droppedNames, relationName, statementsBefore } from '../sql-ast.ts';

const DROPPED_KINDS: Readonly<Record<string, string>> = {
  OBJECT_VIEW: 'view',
  OBJECT_MATVIEW: 'materialized view',
  OBJECT_FUNCTION: 'function',
  OBJECT_PROCEDURE: 'procedure',
};

const KINDS = new Set(['ViewStmt', 'CreateFunctionStmt', 'DropStmt']);

export const rule: Rule = {
  id: 'redefine-view-function',
  title: 'Redefine or drop a view or function the serving version uses',
  category: 'compatibility',
  severity: 'error',
  allowedInContract: true,
  dialects: ['postgres', 'sqlite'],
  check(statement: LintStatement, context: LintFileContext): readonly RuleHit[] {
    if (!KINDS.has(statement.kind)) return [];
    const created = createdObjects(statementsBefore(statement, context));
    if (statement.kind === 'ViewStmt') {
      const view = statement.node as ViewStmt;
      const name = relationName(view.view);
      if (view.replace !== true || created.has(name)) return [];
      return [redefined('view', name)];
    }
    if (statement.kind === 'CreateFunctionStmt') {
      const fn = statement.node as CreateFunctionStmt;
      const name = dottedName(fn.funcname);
      if (fn.replace !== true || created.has(name)) return [];
      return [redefined(fn.is_procedure === true ? 'procedure' : 'function', name)];
    }
    if (statement.kind === 'DropStmt') {
      const drop = statement.node as DropStmt;
      const kind = DROPPED_KINDS[drop.removeType ?? ''];
      if (kind === undefined) return [];
      return droppedNames(drop.objects)
        .filter((name) => !created.has(name))
        .map((name) => ({
          message: `Dropping the ${kind} ${name} breaks the version still serving if it uses it: its queries fail with "does not exist".`,
          fix: `Release a version that no longer uses ${name}, then drop it in a contract migration (\`-- cutover:phase contract\`).`,
        }));
    }
    return [];
  },
};

function redefined(kind: string, name: string): RuleHit {
  return {
    message: `CREATE OR REPLACE changes the ${kind} ${name} under the version still serving: it gets the new definition (other columns, other results) the moment this runs.`,
    fix: `Create a new ${kind} (${name}_v2) that the new version uses, and drop ${name} in a contract migration once the old color is retired. If ${name} is new, write CREATE ${kind.toUpperCase()} without OR REPLACE.`,
  };
}

function createdObjects(statements: readonly LintStatement[]): Set<string> {
  const names = new Set<string>();
  for (const statement of statements) {
    if (statement.kind === 'ViewStmt') names.add(relationName((statement.node as ViewStmt).view));
    if (statement.kind === 'CreateFunctionStmt') {
      names.add(dottedName((statement.node as CreateFunctionStmt).funcname));
    }
  }
  return names;
}
