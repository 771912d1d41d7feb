import type { Transaction } from '../../operators/buffer-transaction';
import { messageToJson, messageToJsonLine } from '../../src/json';
import type { ChangeMessage, RelationInfo } from '../../src/pgoutput/messages';
import { pgTimestampToIso } from '../../src/time';

/**
 * One entry a log sink writes: a change of one table, numbered within its transaction.
 * A TRUNCATE of several tables gives one record per table, so every record names one table.
 */
export interface ChangeRecord {
  /** 0-based position of the record in its transaction: with the commit LSN, the record's identity. */
  readonly index: number;
  readonly op: 'insert' | 'update' | 'delete' | 'truncate';
  readonly schema: string;
  readonly table: string;
  /** The relation the record is about: the change's own, or one of a TRUNCATE's. */
  readonly relation: RelationInfo;
  readonly change: ChangeMessage;
}

/** The records of a transaction, in the order the server sent its changes. */
export function changeRecords(tx: Transaction): ChangeRecord[] {
  const out: ChangeRecord[] = [];
  for (const change of tx.changes) {
    const relations: readonly RelationInfo[] = change.type === 'truncate' ? change.relations : [change.relation];
    for (const r of relations) out.push({ index: out.length, op: change.type, schema: r.schema, table: r.name, relation: r, change });
  }
  return out;
}

/**
 * The default payload: the change as `pg-walstream stream --raw` prints it (docs/json-output.md),
 * with column values as the server's text, so a replay writes the same bytes.
 */
export function defaultPayload(record: ChangeRecord): string {
  const change = record.change;
  // The same text: messageToJsonLine writes Insert, Update and Delete straight to text (spec/unit/cli-json-line.spec.ts).
  if (change.type !== 'truncate') return messageToJsonLine(change, { raw: true }).slice(0, -1);
  return JSON.stringify(messageToJson(change, { raw: true }));
}

/** The metadata every log record carries, as strings: LSNs as `X/Y`, commit time as ISO 8601 with µs. */
export function recordMetadata(tx: Transaction, record: ChangeRecord): Record<string, string> {
  return {
    'commit-lsn': tx.commitLsn.toString(),
    'end-lsn': tx.endLsn.toString(),
    xid: String(tx.xid),
    'commit-time': pgTimestampToIso(tx.commitTime),
    op: record.op,
    table: `${record.schema}.${record.table}`,
    index: String(record.index),
  };
}
