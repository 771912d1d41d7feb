import { WalstreamError } from '../errors';

/** Where a column value came from: the relation and column it belongs to. */
export interface ColumnLocation {
  readonly schema: string;
  readonly table: string;
  readonly column: string;
  readonly typeOid: number;
}

/**
 * A column value could not be decoded: malformed binary bytes for its type, or a user parser that
 * threw (`cause` holds the parser's error). Names the table, column and type OID.
 */
export class ColumnValueError extends WalstreamError {
  override name = 'ColumnValueError';
  readonly schema: string;
  readonly table: string;
  readonly column: string;
  readonly typeOid: number;

  constructor(location: ColumnLocation, message: string, options?: { cause?: unknown }) {
    super(`${location.schema}.${location.table}.${location.column} (type OID ${location.typeOid}): ${message}`, options);
    this.schema = location.schema;
    this.table = location.table;
    this.column = location.column;
    this.typeOid = location.typeOid;
  }
}

/** Why {@link mapRow} rejected a row. */
export type RowMappingProblem = 'missingColumn' | 'wrongType' | 'null' | 'unchangedToast' | 'invalid';

/**
 * A row did not fit a {@link mapRow} schema: a column is missing, has a value of another type, is
 * NULL where the schema does not allow it, is an unchanged TOAST value the server did not send, or
 * a field's own check rejected it. Names the table and column.
 */
export class RowMappingError extends WalstreamError {
  override name = 'RowMappingError';

  constructor(
    readonly schema: string,
    readonly table: string,
    readonly column: string,
    readonly problem: RowMappingProblem,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(`${schema}.${table}.${column}: ${message}`, options);
  }
}
