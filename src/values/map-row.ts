import type { RelationInfo } from '../pgoutput/messages';
import { type Row, UNCHANGED_TOAST, type UnchangedToast } from '../pgoutput/row';
import { RowMappingError } from './errors';

/** The JavaScript value a field must hold after decoding (see docs/types.md for which SQL types give which). */
export type FieldType = 'string' | 'number' | 'bigint' | 'boolean' | 'date' | 'buffer' | 'array' | 'object' | 'json' | 'unknown';

/** A field's spec in full: the column it reads (default: the field's name), its type, and an optional conversion. */
export interface FieldSpec<T = unknown> {
  /** Column name, when it differs from the field name. */
  column?: string;
  /** Checked before `parse`. Default `unknown`. */
  type?: FieldType;
  /** SQL NULL is allowed (the field is then `null`). Default false. */
  nullable?: boolean;
  /** Converts or validates the decoded value (never called for NULL); throw to reject the row. */
  parse?: (value: unknown) => T;
}

/** A field: a type name, a type name with `?` for nullable, or a {@link FieldSpec}. */
export type Field = FieldType | `${FieldType}?` | FieldSpec;

/** Field name to field spec. */
export type RowSchema = Readonly<Record<string, Field>>;

/** The JavaScript type of a {@link FieldType}. */
export type TypeOf<T extends FieldType> = T extends 'string'
  ? string
  : T extends 'number'
    ? number
    : T extends 'bigint'
      ? bigint
      : T extends 'boolean'
        ? boolean
        : T extends 'date'
          ? Date
          : T extends 'buffer'
            ? Buffer
            : T extends 'array'
              ? unknown[]
              : T extends 'object'
                ? Record<string, unknown>
                : unknown;

/** The JavaScript type a field of a {@link RowSchema} maps to. */
export type FieldValue<F> = F extends `${infer T extends FieldType}?`
  ? TypeOf<T> | null
  : F extends FieldType
    ? TypeOf<F>
    : F extends FieldSpec<infer R>
      ? (F extends { parse: (v: never) => unknown } ? R : F extends { type: infer T extends FieldType } ? TypeOf<T> : unknown) | (F extends { nullable: true } ? null : never)
      : never;

/** The object a schema maps rows to. */
export type RowOf<S extends RowSchema> = { -readonly [K in keyof S]: FieldValue<S[K]> };
/** The same, where each field may also be {@link UNCHANGED_TOAST}. */
export type RowWithToastOf<S extends RowSchema> = { -readonly [K in keyof S]: FieldValue<S[K]> | UnchangedToast };

/** A function from a Row to a user type; throws {@link RowMappingError}. */
export type RowMapper<T> = (row: Row) => T;

export interface MapRowOptions {
  /**
   * What an unchanged TOAST value (a column the server did not send) becomes: `error` (default)
   * throws a RowMappingError naming the column; `keep` puts {@link UNCHANGED_TOAST} in the field.
   */
  unchangedToast?: 'error' | 'keep';
}

interface CompiledField {
  readonly field: string;
  readonly column: string;
  readonly type: FieldType;
  readonly nullable: boolean;
  readonly parse: ((value: unknown) => unknown) | undefined;
}

const CHECKS: Record<FieldType, (v: unknown) => boolean> = {
  string: (v) => typeof v === 'string',
  number: (v) => typeof v === 'number',
  bigint: (v) => typeof v === 'bigint',
  boolean: (v) => typeof v === 'boolean',
  date: (v) => v instanceof Date,
  buffer: (v) => Buffer.isBuffer(v),
  array: (v) => Array.isArray(v),
  object: (v) => typeof v === 'object' && v !== null && !Array.isArray(v) && !Buffer.isBuffer(v) && !(v instanceof Date),
  json: (v) => v !== undefined,
  unknown: () => true,
};

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (v instanceof Date) return 'a Date';
  if (Buffer.isBuffer(v)) return 'a Buffer';
  if (typeof v === 'object') return `an object (${(v as object).constructor?.name ?? 'Object'})`;
  return `a ${typeof v} (${String(v).slice(0, 40)})`;
}

function compile(schema: RowSchema): CompiledField[] {
  return Object.entries(schema).map(([field, spec]) => {
    if (typeof spec === 'string') {
      const nullable = spec.endsWith('?');
      const type = (nullable ? spec.slice(0, -1) : spec) as FieldType;
      if (!(type in CHECKS)) throw new TypeError(`mapRow: unknown field type ${JSON.stringify(spec)} for ${field}`);
      return { field, column: field, type, nullable, parse: undefined };
    }
    const type = spec.type ?? 'unknown';
    if (!(type in CHECKS)) throw new TypeError(`mapRow: unknown field type ${JSON.stringify(type)} for ${field}`);
    return { field, column: spec.column ?? field, type, nullable: spec.nullable ?? false, parse: spec.parse };
  });
}

/**
 * Builds a function that maps a Row (an insert's `new`, an update's `new` or `old`, a delete's
 * `old`) onto a plain object of the schema's fields, checking each decoded value's JavaScript type.
 * Only the schema's columns are decoded. The result's type is inferred from the schema, so it can
 * be assigned to a `RowMapper<YourType>`.
 *
 * A key row (`key` of an update or delete) holds only the replica identity columns, the rest NULL:
 * map it with a schema of the key columns.
 *
 * @throws {RowMappingError} (from the returned function) naming schema, table and column when a
 * column is missing from the relation, NULL without `?`/`nullable`, of another JavaScript type, an
 * unchanged TOAST value (unless `unchangedToast: 'keep'`), or rejected by the field's `parse`.
 * @throws {TypeError} for an unknown field type in the schema.
 *
 * @example
 * interface Order { id: number; total: string; note: string | null; placed: Date }
 * const toOrder: RowMapper<Order> = mapRow({ id: 'number', total: 'string', note: 'string?', placed: { column: 'placed_at', type: 'date' } });
 * changes.pipe(filter((m) => isChangeOf(m, 'public', 'orders'))).subscribe((m) => { if (m.type === 'insert') save(toOrder(m.new)); });
 */
export function mapRow<S extends RowSchema>(schema: S, options?: MapRowOptions & { unchangedToast?: 'error' }): RowMapper<RowOf<S>>;
export function mapRow<S extends RowSchema>(schema: S, options: MapRowOptions & { unchangedToast: 'keep' }): RowMapper<RowWithToastOf<S>>;
export function mapRow<S extends RowSchema>(schema: S, options: MapRowOptions = {}): RowMapper<RowOf<S> | RowWithToastOf<S>> {
  const fields = compile(schema);
  const keepToast = options.unchangedToast === 'keep';
  // Column positions per relation, found once: a Relation message makes a new RelationInfo.
  const positions = new WeakMap<RelationInfo, number[]>();
  const locate = (row: Row): number[] => {
    const r = row.relation;
    let p = positions.get(r);
    if (p === undefined) {
      const names = r.columns.map((c) => c.name);
      p = fields.map((f) => {
        const i = names.indexOf(f.column);
        if (i < 0) throw new RowMappingError(r.schema, r.name, f.column, 'missingColumn', `no column "${f.column}" (for field ${f.field}); the table has ${names.join(', ')}`);
        return i;
      });
      positions.set(r, p);
    }
    return p;
  };
  return (row: Row) => {
    const at = locate(row);
    const r = row.relation;
    const out: Record<string, unknown> = {};
    for (let i = 0; i < fields.length; i++) {
      const f = fields[i];
      const value = row.get(at[i]);
      if (value === UNCHANGED_TOAST) {
        if (!keepToast) throw new RowMappingError(r.schema, r.name, f.column, 'unchangedToast', 'unchanged TOAST value: the server did not send it (under REPLICA IDENTITY FULL the old row of the update has it; or map with unchangedToast: "keep")');
        out[f.field] = value;
        continue;
      }
      if (value === null) {
        if (!f.nullable) throw new RowMappingError(r.schema, r.name, f.column, 'null', `NULL, but field ${f.field} is not nullable`);
        out[f.field] = null;
        continue;
      }
      if (!CHECKS[f.type](value)) throw new RowMappingError(r.schema, r.name, f.column, 'wrongType', `expected ${f.type} for field ${f.field}, got ${describe(value)}`);
      if (f.parse === undefined) out[f.field] = value;
      else {
        try {
          out[f.field] = f.parse(value);
        } catch (err) {
          throw new RowMappingError(r.schema, r.name, f.column, 'invalid', `field ${f.field} rejected the value: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
        }
      }
    }
    return out as RowOf<S>;
  };
}
