// Bookkeeping for the at-least-once integration tests: what a workload committed, what the
// consumer finished and when, and what the slot's confirmed_flush_lsn said meanwhile.
import type { Client } from 'pg';
import { Lsn } from '../../src';
import type { Transaction } from '../../operators';
import { sqlClient } from './server';

/** One transaction the consumer finished. */
export interface Done {
  readonly commitLsn: bigint;
  readonly endLsn: bigint;
  readonly ids: number[];
  /** Date.now() when the work was done (before acknowledging). */
  readonly at: number;
}

/** A confirmed_flush_lsn reading, with the Date.now() at which the answer arrived. */
export interface Sample {
  readonly confirmed: bigint;
  readonly at: number;
}

export function idsOf(tx: Transaction): number[] {
  return tx.changes.flatMap((c) => (c.type === 'insert' ? [Number(c.new.raw('id'))] : []));
}

export function doneOf(tx: Transaction, at = Date.now()): Done {
  return { commitLsn: tx.commitLsn.value, endLsn: tx.endLsn.value, ids: idsOf(tx), at };
}

/** Creates a table `(id int primary key, v text)`, a publication for it, and a permanent slot. */
export async function createFixture(sql: Client, names: { table: string; publication: string; slot: string }): Promise<void> {
  await sql.query(`CREATE TABLE ${names.table} (id int PRIMARY KEY, v text)`);
  await sql.query(`CREATE PUBLICATION ${names.publication} FOR TABLE ${names.table}`);
  await sql.query(`SELECT pg_create_logical_replication_slot($1, 'pgoutput')`, [names.slot]);
}

/** Commits `transactions` transactions of `rows` rows each, ids from `firstId` on, one after the other. */
export async function writeWorkload(url: string, table: string, o: { firstId: number; transactions: number; rows: number; payload?: number; pauseEvery?: number; pauseMs?: number; stop?: () => boolean }): Promise<number> {
  const sql = await sqlClient(url);
  let id = o.firstId;
  try {
    for (let t = 0; t < o.transactions && !o.stop?.(); t++) {
      await sql.query(`INSERT INTO ${table} SELECT g, repeat('x', $3) FROM generate_series($1::int, $2::int) g`, [id, id + o.rows - 1, o.payload ?? 10]);
      id += o.rows;
      if (o.pauseEvery && t % o.pauseEvery === o.pauseEvery - 1) await new Promise((r) => setTimeout(r, o.pauseMs ?? 5));
    }
  } finally {
    await sql.end().catch(() => {});
  }
  return id; // the next free id
}

/** Reads the slot's confirmed_flush_lsn every `interval` ms until stopped, riding out server restarts. */
export function sampleSlot(url: string, slot: string, interval = 50): { samples: Sample[]; stop: () => Promise<void> } {
  const samples: Sample[] = [];
  let stopped = false;
  const loop = (async () => {
    let sql: Client | undefined;
    while (!stopped) {
      try {
        if (sql === undefined) {
          sql = await sqlClient(url);
          sql.on('error', () => {}); // a server shutdown; the next query fails and reconnects
        }
        const r = await sql.query('SELECT confirmed_flush_lsn::text AS c FROM pg_replication_slots WHERE slot_name = $1', [slot]);
        if (r.rows[0]?.c) samples.push({ confirmed: Lsn.parse(r.rows[0].c).value, at: Date.now() });
      } catch {
        await sql?.end().catch(() => {});
        sql = undefined;
      }
      await new Promise((r) => setTimeout(r, interval));
    }
    await sql?.end().catch(() => {});
  })();
  return { samples, stop: async () => { stopped = true; await loop; } };
}

export async function confirmedFlush(sql: Client, slot: string): Promise<bigint> {
  const r = await sql.query('SELECT confirmed_flush_lsn::text AS c FROM pg_replication_slots WHERE slot_name = $1', [slot]);
  return Lsn.parse(r.rows[0].c).value;
}

/**
 * The at-least-once checks:
 * - every id in [firstId, nextId) arrived in some finished transaction (nothing missing, nothing extra);
 * - after dropping redeliveries (a transaction whose end LSN is not above every one finished before
 *   it), transactions come in commit order and their ids are 1..n in order;
 * - a redelivered transaction carries the same rows as the first delivery;
 * - the slot's confirmed_flush_lsn never passed a transaction before the consumer had finished it.
 * Returns the number of redelivered transactions.
 */
export function verifyDelivery(done: readonly Done[], samples: readonly Sample[], firstId: number, nextId: number): { redelivered: number } {
  const firstDelivery = new Map<bigint, Done>();
  const ordered: Done[] = [];
  let highest = -1n;
  let redelivered = 0;
  for (const d of done) {
    const earlier = firstDelivery.get(d.endLsn);
    if (earlier !== undefined) expect(d.ids).toEqual(earlier.ids);
    else firstDelivery.set(d.endLsn, d);
    if (d.endLsn <= highest) {
      redelivered++;
      continue;
    }
    highest = d.endLsn;
    ordered.push(d);
  }
  for (let i = 1; i < ordered.length; i++) expect(ordered[i].commitLsn > ordered[i - 1].commitLsn).toBe(true);
  const ids = ordered.flatMap((d) => d.ids);
  const expected = Array.from({ length: nextId - firstId }, (_, i) => firstId + i);
  expect(ids.length).toBe(expected.length);
  expect(ids).toEqual(expected);
  // confirmed_flush_lsn at time `at` may only be past a transaction's commit if it was done by then.
  const doneAt = [...firstDelivery.values()].sort((a, b) => (a.commitLsn < b.commitLsn ? -1 : 1));
  for (const s of samples) {
    for (const d of doneAt) {
      if (d.commitLsn >= s.confirmed) break;
      if (d.at > s.at) throw new Error(`confirmed_flush_lsn ${Lsn.from(s.confirmed).toString()} at ${s.at} passed transaction ${Lsn.from(d.commitLsn).toString()}, only done at ${d.at}`);
    }
  }
  return { redelivered };
}
