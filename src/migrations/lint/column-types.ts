// Column types as the linter compares them (issue 4): a type change is safe for the version
// still serving only when it widens (every old value fits the new type and reads the same), and
// PostgreSQL changes it in place (no rewrite) only for its binary-coercible cases
// (https://www.postgresql.org/docs/current/sql-altertable.html, "Notes").
import type { TypeName } from 'libpg-query';

export interface ColumnType {
  /** The type's own name, without pg_catalog: `varchar`, `int4`, `numeric`, `timestamptz`. */
  readonly name: string;
  /** Its modifiers (a length; a precision and scale); empty when unconstrained. */
  readonly mods: readonly number[];
  readonly array: boolean;
}

/** The serial pseudo-types are their integer type plus a sequence default. */
const SERIAL_ALIASES: Readonly<Record<string, string>> = {
  smallserial: 'int2',
  serial2: 'int2',
  serial: 'int4',
  serial4: 'int4',
  bigserial: 'int8',
  serial8: 'int8',
};

/** Integer digits each integer type needs in a numeric(p, s): p - s. */
const INTEGER_DIGITS: Readonly<Record<string, number>> = { int2: 5, int4: 10, int8: 19 };

/** Changes between families that keep every value and how it reads. */
const CROSS_WIDENINGS = new Set([
  'int2>int4',
  'int2>int8',
  'int4>int8',
  'int2>float4',
  'int2>float8',
  'int4>float8',
  'float4>float8',
  'varchar>text',
  'text>varchar',
  'cidr>inet',
]);

/** Changes between families that PostgreSQL makes without rewriting the table. */
const CROSS_IN_PLACE = new Set(['varchar>text', 'text>varchar', 'cidr>inet']);

/** Types whose single modifier is a precision or length that only widens upward. */
const UPWARD_MODS = new Set([
  'varchar',
  'bpchar',
  'varbit',
  'timestamp',
  'timestamptz',
  'time',
  'timetz',
  'interval',
]);

/** Types whose precision increase PostgreSQL applies in place. */
const IN_PLACE_UPWARD = new Set([
  'varchar',
  'varbit',
  'timestamp',
  'timestamptz',
  'time',
  'timetz',
  'interval',
]);

/** The column type a type name declares, or undefined when a modifier is not a plain number. */
export function columnTypeOf(type: TypeName | undefined): ColumnType | undefined {
  const names = type?.names ?? [];
  const last = names[names.length - 1];
  const raw = last !== undefined && 'String' in last ? (last.String.sval ?? '') : '';
  if (raw === '') return undefined;
  const mods: number[] = [];
  for (const node of type?.typmods ?? []) {
    const value = 'A_Const' in node ? node.A_Const.ival?.ival : undefined;
    if (!('A_Const' in node)) return undefined;
    // ival 0 is stored without the field in libpg-query's JSON.
    mods.push(value ?? 0);
  }
  const name = raw.toLowerCase();
  return {
    name: SERIAL_ALIASES[name] ?? name,
    mods,
    array: (type?.arrayBounds ?? []).length > 0,
  };
}

export function formatColumnType(type: ColumnType): string {
  const mods = type.mods.length === 0 ? '' : `(${type.mods.join(',')})`;
  return `${type.name}${mods}${type.array ? '[]' : ''}`;
}

/** Whether every value of `from` is a value of `to` that reads the same. */
export function isWideningOf(from: ColumnType, to: ColumnType): boolean {
  if (from.array !== to.array) return false;
  if (from.name === to.name) return modsWiden(from, to);
  if (to.name === 'numeric') {
    const digits = INTEGER_DIGITS[from.name];
    if (digits === undefined) return false;
    const [precision, scale = 0] = to.mods;
    return precision === undefined || precision - scale >= digits;
  }
  return CROSS_WIDENINGS.has(`${from.name}>${to.name}`) && to.mods.length === 0;
}

/** Whether PostgreSQL changes `from` to `to` without rewriting the table. */
export function isInPlaceChange(from: ColumnType, to: ColumnType): boolean {
  if (from.array !== to.array) return false;
  if (from.name === to.name) {
    if (sameMods(from, to)) return true;
    if (from.name === 'numeric') {
      if (to.mods.length === 0) return true;
      const [p1, s1 = 0] = from.mods;
      const [p2, s2 = 0] = to.mods;
      return p1 !== undefined && p2 !== undefined && s1 === s2 && p2 >= p1;
    }
    return IN_PLACE_UPWARD.has(from.name) && modsWiden(from, to);
  }
  return CROSS_IN_PLACE.has(`${from.name}>${to.name}`) && to.mods.length === 0;
}

function sameMods(from: ColumnType, to: ColumnType): boolean {
  return from.mods.length === to.mods.length && from.mods.every((mod, i) => mod === to.mods[i]);
}

function modsWiden(from: ColumnType, to: ColumnType): boolean {
  if (sameMods(from, to)) return true;
  if (from.name === 'numeric') {
    if (to.mods.length === 0) return true;
    const [p1, s1 = 0] = from.mods;
    const [p2, s2 = 0] = to.mods;
    // Unconstrained numeric holds any value: no numeric(p, s) holds them all.
    if (p1 === undefined || p2 === undefined) return false;
    return s2 >= s1 && p2 - s2 >= p1 - s1;
  }
  if (!UPWARD_MODS.has(from.name)) return false;
  // Unconstrained: no limit (varchar, varbit) or the largest precision (timestamp: 6).
  if (to.mods.length === 0) return from.name !== 'bpchar';
  const [before] = from.mods;
  const [now] = to.mods;
  return before !== undefined && now !== undefined && now >= before;
}
