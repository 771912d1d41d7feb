// The workload and the checks of the log-sink tests (JetStream, Redis): two tables, inserts and
// updates of a few hot keys, spread over a few seconds so faults land mid-stream.
import type { Client } from 'pg';
import { Lsn } from '../../src';
import { sleep } from './sink-servers';

export interface LogWorkload {
  /** Changes the stream must end up holding. */
  readonly expected: number;
  readonly tables: [string, string];
  readonly transactions: number;
  /** Resolves when every transaction has committed; `progress` counts them. */
  run(onProgress?: (done: number) => Promise<void> | void): Promise<void>;
}

export function logWorkload(sql: Client, a: string, b: string, transactions = 300, keys = 10): LogWorkload {
  return {
    expected: keys + transactions * 2,
    tables: [a, b],
    transactions,
    async run(onProgress) {
      await sql.query(`INSERT INTO ${b} SELECT k, -1 FROM generate_series(0, ${keys - 1}) k`);
      for (let i = 0; i < transactions; i++) {
        await sql.query(`BEGIN; INSERT INTO ${a} VALUES (${i}, ${i}); UPDATE ${b} SET v = ${i} WHERE id = ${i % keys}; COMMIT`);
        await onProgress?.(i + 1);
        if (i % 10 === 0) await sleep(20);
      }
    },
  };
}

/** One stored record as the checks need it. */
export interface StoredRecord {
  /** The engine's identity for it: Nats-Msg-Id or the Redis entry ID. */
  readonly id: string;
  readonly table: string;
  readonly commitLsn: string;
  readonly index: number;
  /** The payload: the change as `pg-walstream stream --raw` prints it. */
  readonly change: { type: string; new?: Record<string, string | null> };
}

/**
 * Every change exactly once, and in commit order per table (commit LSN, then index) and per key
 * (the updated value of each hot key only grows).
 */
export function checkExactlyOnceInOrder(records: StoredRecord[], w: LogWorkload): void {
  expect(new Set(records.map((r) => r.id)).size).toBe(records.length);
  expect(records).toHaveLength(w.expected);
  const byTable = new Map<string, StoredRecord[]>();
  for (const r of records) byTable.set(r.table, [...(byTable.get(r.table) ?? []), r]);
  for (const [table, list] of byTable) {
    for (let i = 1; i < list.length; i++) {
      const prev = list[i - 1];
      const cur = list[i];
      const p = Lsn.parse(prev.commitLsn).value;
      const c = Lsn.parse(cur.commitLsn).value;
      if (!(p < c || (p === c && prev.index < cur.index))) throw new Error(`${table}: ${cur.id} is stored after ${prev.id}`);
    }
  }
  const lastByKey = new Map<string, number>();
  for (const r of byTable.get(`public.${w.tables[1]}`) ?? []) {
    const key = r.change.new!.id!;
    const v = Number(r.change.new!.v);
    if (lastByKey.has(key) && lastByKey.get(key)! >= v) throw new Error(`key ${key}: ${v} after ${lastByKey.get(key)}`);
    lastByKey.set(key, v);
  }
  expect(byTable.get(`public.${w.tables[0]}`)).toHaveLength(w.transactions);
}
