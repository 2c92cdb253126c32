// What the demo's story must show, checked against what it measured. Pure. Only the parts of the
// story that ran are checked (a shortened demo skips the rest).
import type { LoadResult } from './demo-load.ts';
import type { DemoDeployment, DemoDrill, DemoExpectation } from './demo-report.ts';

/** The release each deployment must leave live, and how it must end. */
export interface StoryStep {
  readonly release: string;
  readonly expect: 'succeeded' | 'refused-before-flip' | 'rolled-back';
  /** For a refusal: the step that must refuse it. */
  readonly refusedAt?: string;
  /** For a refusal at the schema check: the linter rule, or the release failing on the shadow. */
  readonly refusedBy?: { readonly lintRule: string } | { readonly shadowFailed: string };
  /** The release that must be live afterwards. */
  readonly liveAfter: string;
  /** The release's folder under examples/shop, when it is not named like the release. */
  readonly dir?: string;
  /** Deployed as a canary: it must take its share of traffic in steps before any flip. */
  readonly canary?: boolean;
}

export interface DemoMeasurements {
  readonly story: readonly StoryStep[];
  readonly deployments: readonly DemoDeployment[];
  /** Null when the drill did not run (a shortened demo). */
  readonly drill: DemoDrill | null;
  readonly drillRan: boolean;
  /** Why the drill request itself failed (the daemon refused it), if it did. */
  readonly drillError: string | null;
  /** Null when no load ran. */
  readonly requests: LoadResult | null;
}

/** The steps before any instance starts: a refusal there touched nothing. */
const BEFORE_START_STEPS: readonly string[] = [
  'locking',
  'resolving',
  'drift-check',
  'schema-check',
];

function expectationName(step: StoryStep): string {
  if (step.canary === true) {
    return step.expect === 'succeeded'
      ? `${step.release} goes live through its canary steps`
      : `${step.release} is rolled back by its canary analysis before any flip`;
  }
  if (step.expect === 'succeeded') return `${step.release} goes live`;
  if (step.expect === 'rolled-back') return `${step.release} is rolled back automatically`;
  const by = step.refusedBy;
  if (by === undefined) return `${step.release} is refused before the flip`;
  return 'lintRule' in by
    ? `${step.release} is refused by the migration linter (${by.lintRule}) before anything starts`
    : `${step.release} is refused by the shadow check (${by.shadowFailed} fails on the migrated shadow) before anything starts`;
}

/** Whether what refused the deployment is what the story says must. */
function refusedAsTold(step: StoryStep, d: DemoDeployment): boolean {
  const by = step.refusedBy;
  if (by === undefined) return true;
  if ('lintRule' in by) {
    return (d.schema?.lint ?? []).some((f) => f.rule === by.lintRule && f.severity === 'error');
  }
  const shadow = d.schema?.shadow ?? null;
  return (
    shadow !== null &&
    !shadow.passed &&
    shadow.releases.some((entry) => entry.release === by.shadowFailed && !entry.passed)
  );
}

function schemaDetail(d: DemoDeployment): string {
  if (d.schema === null) return '';
  const rules = d.schema.lint.map((f) => `${f.rule} at ${f.file}:${f.line}`);
  const shadow = d.schema.shadow;
  const verdicts =
    shadow === null
      ? 'not run'
      : shadow.releases.map((r) => `${r.release} ${r.passed ? 'passed' : 'failed'}`).join(', ');
  return `, lint ${rules.length === 0 ? 'clean' : rules.join(', ')}, shadow ${verdicts}`;
}

function expectDeployment(step: StoryStep, d: DemoDeployment | undefined): DemoExpectation {
  const name = expectationName(step);
  if (d === undefined) return { name, ok: false, detail: 'it did not run' };
  const started = d.steps.some((s) => s.step === 'starting');
  const detail =
    `outcome ${d.outcome ?? 'none'}` +
    (d.failedAt === null ? '' : ` at step ${d.failedAt}`) +
    (step.refusedBy === undefined ? '' : schemaDetail(d)) +
    (step.refusedBy === undefined || !started ? '' : ', instances started') +
    `, live ${d.liveAfter ?? 'none'} after it`;
  const live = d.liveAfter === step.liveAfter;
  let ok: boolean;
  if (step.canary === true) {
    // A canary shares traffic first; a bad one is taken back before it is ever flipped to.
    ok =
      d.shifted === true &&
      (step.expect === 'succeeded'
        ? d.outcome === 'succeeded' && d.flipped
        : d.outcome === step.expect && !d.flipped);
  } else if (step.expect === 'succeeded') ok = d.outcome === 'succeeded';
  else if (step.expect === 'rolled-back') ok = d.outcome === 'rolled-back' && d.flipped;
  else {
    const touchedNothing =
      step.refusedAt === undefined || !BEFORE_START_STEPS.includes(step.refusedAt) || !started;
    ok =
      d.outcome === 'failed' &&
      !d.flipped &&
      (step.refusedAt === undefined || d.failedAt === step.refusedAt) &&
      touchedNothing &&
      refusedAsTold(step, d);
  }
  return { name, ok: ok && live, detail };
}

function expectDrill(drill: DemoDrill | null, error: string | null): DemoExpectation {
  const name = 'the rollback drill passes within its RTO objective';
  if (drill === null) return { name, ok: false, detail: error ?? 'no drill report' };
  return {
    name,
    ok: drill.passed && drill.rtoMs <= drill.objectiveMs && drill.failedRequests === 0,
    detail:
      `RTO ${Math.round(drill.rtoMs)} ms of ${drill.objectiveMs} ms, ` +
      `${drill.failedRequests} failed requests${drill.reason === null ? '' : `: ${drill.reason}`}`,
  };
}

function expectRequests(r: LoadResult): DemoExpectation[] {
  const tolerated = Object.entries(r.tolerated)
    .map(
      ([release, n]) =>
        `, ${n} ${n === 1 ? 'error' : 'errors'} served by ${release} itself not counted`,
    )
    .join('');
  return [
    {
      name: 'zero failed requests',
      ok: r.failed === 0 && r.ok > 0,
      detail: `${r.failed} failed of ${r.total}${tolerated}`,
    },
    {
      name: 'every request outside a flip is answered by the live release',
      ok: r.misrouted === 0,
      detail: `${r.misrouted} misrouted of ${r.checkedAfterFlip} checked`,
    },
  ];
}

export function evaluateDemo(m: DemoMeasurements): DemoExpectation[] {
  const results = m.story.map((step) =>
    expectDeployment(
      step,
      m.deployments.find((d) => d.release === step.release),
    ),
  );
  if (m.drillRan) results.push(expectDrill(m.drill, m.drillError));
  if (m.requests !== null) results.push(...expectRequests(m.requests));
  return results;
}
