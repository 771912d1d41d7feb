import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import type { Client } from 'pg';
import { Subject, concatMap, lastValueFrom, takeWhile } from 'rxjs';
import { LsnFeedback, logicalReplication } from '../../src';
import { BackfillError, MemoryStateStore, type BackfillEvent } from '../../src/snapshot';
import { ackOnCommit, backfill, backfillStateKey, bufferTransaction, parsePgoutput, type TransactionEvent } from '../../operators';
import { defaultServer, sqlClient, uniqueName, waitFor } from '../support/server';

type Event = BackfillEvent | TransactionEvent;
const CONSUMER = join(__dirname, '../support/backfill-consumer.js');
const END = 'test.end';

/** Applies backfill rows (as upserts) and streamed changes of `table` to a map id → v. */
class Replica {
  readonly rows = new Map<number, number>();
  readonly backfilled = new Map<number, number>();
  apply(e: Event, table: string): void {
    if (e.type === 'backfillRows') {
      if (e.table !== table) return;
      for (const r of e.rows) {
        const id = r.get('id') as number;
        this.backfilled.set(id, (this.backfilled.get(id) ?? 0) + 1);
        this.rows.set(id, r.get('v') as number);
      }
    } else if (e.type === 'transaction') {
      for (const c of e.changes) {
        if (c.type === 'truncate' || c.relation.name !== table) continue;
        if (c.type === 'delete') this.rows.delete(c.key!.get('id') as number);
        else {
          if (c.type === 'update' && c.key !== undefined) this.rows.delete(c.key.get('id') as number);
          this.rows.set(c.new.get('id') as number, c.new.get('v') as number);
        }
      }
    }
  }
}

async function sourceRows(sql: Client, table: string): Promise<Map<number, number>> {
  const r = await sql.query({ text: `SELECT id, v FROM ${table}`, rowMode: 'array' });
  return new Map(r.rows.map(([id, v]) => [id as number, v as number]));
}

function differences(a: Map<number, number>, b: Map<number, number>): string[] {
  const out: string[] = [];
  for (const [id, v] of a) if (b.get(id) !== v) out.push(`${id}: replica ${v}, source ${b.get(id)}`);
  for (const [id, v] of b) if (!a.has(id)) out.push(`${id}: replica missing, source ${v}`);
  return out.slice(0, 10);
}

/**
 * Small transactions of updates, deletes, key changes and inserts until `stop()`, half of them at
 * ids just ahead of `hot.id` (where the backfill is reading), so chunks and changes collide.
 */
async function churn(url: string, table: string, stop: () => boolean, firstNewId: number, counter: { committed: number }, hot: { id: number }, pauseMs = 0): Promise<void> {
  const sql = await sqlClient(url);
  let next = firstNewId;
  try {
    while (!stop()) {
      const near = Math.random() < 0.5;
      const id = near ? Math.min(hot.id, firstNewId - 70) + Math.floor(Math.random() * 50) : 1 + Math.floor(Math.random() * (firstNewId - 1));
      await sql.query('BEGIN');
      await sql.query(`UPDATE ${table} SET v = v + 1 WHERE id = $1`, [id]);
      await sql.query(`DELETE FROM ${table} WHERE id = $1`, [id + 7]);
      await sql.query(`INSERT INTO ${table} VALUES ($1, -1) ON CONFLICT (id) DO NOTHING`, [id + 3]);
      // A key change: the row moves to a new id far ahead.
      await sql.query(`UPDATE ${table} SET id = $2 WHERE id = $1`, [id + 11, next++]);
      await sql.query(`INSERT INTO ${table} VALUES ($1, -1)`, [next++]);
      await sql.query('COMMIT');
      counter.committed++;
      if (pauseMs > 0) await new Promise((r) => setTimeout(r, pauseMs));
    }
  } finally {
    await sql.end();
  }
}

/** Emits the end marker through the WAL: the stream has reached everything committed before it when it arrives. */
async function endMarker(sql: Client): Promise<void> {
  await sql.query(`SELECT pg_logical_emit_message(true, '${END}', 'x')`);
}

const isEnd = (e: Event) => e.type === 'transaction' && e.messages.some((m) => m.prefix === END);

describe('watermark backfill while streaming', () => {
  const url = defaultServer().url;
  let sql: Client;
  const slots: string[] = [];

  beforeAll(async () => {
    sql = await sqlClient(url);
  });
  afterAll(async () => {
    for (const slot of slots) {
      await waitFor(async () => (await sql.query('SELECT 1 FROM pg_replication_slots WHERE slot_name = $1 AND active', [slot])).rowCount === 0, 10_000, 'slot release');
      await sql.query('SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = $1', [slot]);
    }
    await sql.end();
  });

  async function setup(rows: number, opts: { pk?: boolean } = {}): Promise<{ table: string; publication: string; slot: string }> {
    const names = { table: uniqueName('bf'), publication: uniqueName('pub'), slot: uniqueName('slot') };
    await sql.query(`CREATE TABLE ${names.table} (id int ${opts.pk === false ? '' : 'PRIMARY KEY'}, v int NOT NULL)`);
    await sql.query(`INSERT INTO ${names.table} SELECT g, g FROM generate_series(1, ${rows}) g`);
    await sql.query(`CREATE PUBLICATION ${names.publication} FOR TABLE ${names.table}`);
    await sql.query(`SELECT pg_create_logical_replication_slot($1, 'pgoutput')`, [names.slot]);
    slots.push(names.slot);
    return names;
  }

  it('re-reads a table in chunks under concurrent inserts, updates, key changes and deletes: the replayed result equals the table', async () => {
    const ROWS = 1_000_000;
    const names = await setup(ROWS);
    const feedback = new LsnFeedback();
    const options = { connectionString: url, slot: names.slot, publications: names.publication };
    const replica = new Replica();
    const counter = { committed: 0 };
    const hot = { id: 1 };
    let stop = false;
    const churning = churn(url, names.table, () => stop, ROWS + 1, counter, hot);
    await waitFor(() => counter.committed > 10, 10_000, 'writes before the backfill');
    const backfillEvents: Event[] = [];
    let dropped = 0;
    let ended = false;
    const marks = { low: 0, high: 0 };
    await lastValueFrom(
      logicalReplication({ ...options, feedback, messages: true }).pipe(
        parsePgoutput(),
        bufferTransaction(),
        backfill({ ...options, tables: [names.table], chunkSize: 10_000, feedback }),
        concatMap(async (e) => {
          if (e.type === 'backfillRows') {
            dropped += e.read - e.rows.length;
            if (e.rows.length > 0) hot.id = (e.rows[e.rows.length - 1].get('id') as number) + 1;
          }
          if (e.type === 'backfillStart' || e.type === 'backfillEnd') backfillEvents.push(e);
          if (e.type === 'backfillEnd') {
            stop = true;
            await churning;
            await endMarker(sql);
          }
          if (e.type === 'transaction') {
            for (const m of e.messages) if (m.prefix === 'walstream.backfill') marks[JSON.parse(m.content.toString()).mark as 'low' | 'high']++;
          }
          replica.apply(e, names.table);
          if (isEnd(e)) ended = true;
          return e;
        }),
        ackOnCommit(feedback),
        takeWhile(() => !ended),
      ),
    );
    // Each chunk took the place of its high watermark's transaction; the low ones passed on.
    expect(marks).toEqual({ low: (backfillEvents[1] as { progress: { chunks: number } }).progress.chunks, high: 0 });
    if (process.env.BACKFILL_TEST_TRACE) console.log({ dropped, committed: counter.committed, backfilled: replica.backfilled.size });
    expect(backfillEvents.map((e) => e.type)).toEqual(['backfillStart', 'backfillEnd']);
    expect(differences(replica.rows, await sourceRows(sql, names.table))).toEqual([]);
    expect(counter.committed).toBeGreaterThan(50);
    expect(dropped).toBeGreaterThan(0); // chunks and changes did collide
    expect([...replica.backfilled.values()].every((n) => n === 1)).toBe(true);
    const end = backfillEvents[1] as Extract<BackfillEvent, { type: 'backfillEnd' }>;
    expect(end.progress.rows).toBe(replica.backfilled.size);
    expect(end.progress.chunks).toBeGreaterThanOrEqual(Math.floor(ROWS / 10_000));
    // Recorded as done: the same request on the next run reads nothing.
    const again: Event[] = [];
    await endMarker(sql);
    await lastValueFrom(
      logicalReplication({ ...options, feedback: new LsnFeedback(), messages: true }).pipe(
        parsePgoutput(),
        bufferTransaction(),
        backfill({ ...options, tables: [names.table] }),
        takeWhile((e) => {
          again.push(e);
          return !isEnd(e);
        }),
      ),
      { defaultValue: undefined },
    );
    expect(again.filter((e) => e.type.startsWith('backfill'))).toEqual([]);
  }, 400_000); // 1 M rows: generous, for PostgreSQL 14..18 on a shared 2-core machine

  it('a consumer killed (SIGKILL) mid-backfill resumes after its last finished chunk, and the copy ends equal to the table', async () => {
    const ROWS = 30_000;
    const CHUNK = 1000;
    const names = await setup(ROWS);
    const copy = uniqueName('copy');
    await sql.query(`CREATE TABLE ${copy} (id int PRIMARY KEY, v int NOT NULL)`);
    const counter = { committed: 0 };
    const hot = { id: 1 };
    let stop = false;
    // Paced: the consumer applies each change with its own statements.
    const churning = churn(url, names.table, () => stop, ROWS + 1, counter, hot, 10);
    const run = (): { child: ChildProcess; out: () => string } => {
      const child = spawn(process.execPath, [CONSUMER, url, names.slot, names.publication, names.table, copy, String(CHUNK)], { stdio: ['ignore', 'pipe', 'inherit'] });
      let out = '';
      child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
      return { child, out: () => out };
    };
    const first = run();
    try {
      await waitFor(() => /chunk 9\n/.test(first.out()), 60_000, 'ten chunks applied');
      hot.id = 10 * CHUNK;
    } finally {
      first.child.kill('SIGKILL');
    }
    await new Promise((r) => first.child.once('exit', r));
    expect(first.out()).not.toMatch(/end|error/);
    const record = (await sql.query('SELECT value FROM walstream_state WHERE key = $1', [backfillStateKey(names.slot, `public.${names.table}`)])).rows[0].value;
    expect(record.state).toBe('running');
    expect(record.chunks).toBeGreaterThanOrEqual(9); // saved once each chunk was applied (the one killed may be unsaved)
    await waitFor(async () => (await sql.query('SELECT 1 FROM pg_replication_slots WHERE slot_name = $1 AND active', [names.slot])).rowCount === 0, 10_000, 'slot release');
    const second = run();
    try {
      await waitFor(() => /start \d+\n/.test(second.out()), 30_000, 'the second run starts');
      const resumedAt = Number(/start (\d+)\n/.exec(second.out())![1]);
      expect(resumedAt).toBe(record.chunks); // from the last finished chunk, not from scratch
      await waitFor(() => /end\n/.test(second.out()), 150_000, 'the backfill ends');
      stop = true;
      await churning;
      await endMarker(sql);
      await waitFor(() => /marker\n/.test(second.out()), 90_000, 'the end marker');
      expect(second.out()).not.toMatch(/chunk [0-8]\n/); // no chunk before the resume point is read again
      const copied = await sourceRows(sql, copy);
      expect(differences(copied, await sourceRows(sql, names.table))).toEqual([]);
      expect(counter.committed).toBeGreaterThan(20);
      expect((await sql.query('SELECT value FROM walstream_state WHERE key = $1', [backfillStateKey(names.slot, `public.${names.table}`)])).rows[0].value.state).toBe('done');
    } finally {
      stop = true;
      second.child.kill('SIGKILL');
      await churning.catch(() => {});
    }
  }, 360_000);

  it('backfills a table added to the publication while streaming, requested through the WAL in the same transaction', async () => {
    const names = await setup(100);
    const added = uniqueName('added');
    await sql.query(`CREATE TABLE ${added} (id int PRIMARY KEY, v int NOT NULL)`);
    await sql.query(`INSERT INTO ${added} SELECT g, g FROM generate_series(1, 25000) g`);
    const feedback = new LsnFeedback();
    const options = { connectionString: url, slot: names.slot, publications: names.publication };
    const replica = new Replica();
    const types: string[] = [];
    let ended = false;
    const counter = { committed: 0 };
    let stop = false;
    // After the slot was created, so the stream sees it whenever it connects.
    await sql.query('BEGIN');
    await sql.query(`ALTER PUBLICATION ${names.publication} ADD TABLE ${added}`);
    await sql.query(`SELECT pg_logical_emit_message(true, 'walstream.backfill.request', $1)`, [`public.${added}`]);
    await sql.query('COMMIT');
    const churning = churn(url, added, () => stop, 25001, counter, { id: 1 });
    await lastValueFrom(
      logicalReplication({ ...options, feedback, messages: true }).pipe(
        parsePgoutput(),
        bufferTransaction(),
        backfill({ ...options, chunkSize: 3000, feedback, stateStore: new MemoryStateStore() }),
        concatMap(async (e) => {
          if (e.type.startsWith('backfill')) types.push(e.type);
          if (e.type === 'backfillEnd') {
            stop = true;
            await churning;
            await endMarker(sql);
          }
          replica.apply(e, added);
          if (isEnd(e)) ended = true;
          return e;
        }),
        ackOnCommit(feedback),
        takeWhile(() => !ended),
      ),
      { defaultValue: undefined },
    ).catch(async (err: unknown) => {
      stop = true;
      await churning;
      throw err;
    });
    expect(types[0]).toBe('backfillStart');
    expect(types[types.length - 1]).toBe('backfillEnd');
    expect(types.filter((t) => t === 'backfillRows').length).toBeGreaterThanOrEqual(9);
    expect(counter.committed).toBeGreaterThan(5);
    expect(differences(replica.rows, await sourceRows(sql, added))).toEqual([]);
  }, 90_000);

  it('refuses a table without a primary key, and one the publication does not publish, with a BackfillError', async () => {
    const names = await setup(10, { pk: false });
    const options = { connectionString: url, slot: names.slot, publications: names.publication, stateStore: new MemoryStateStore() };
    const attempt = (table: string) =>
      lastValueFrom(logicalReplication({ ...options, messages: true }).pipe(parsePgoutput(), bufferTransaction(), backfill({ ...options, tables: [table] }))).catch((e: unknown) => e);
    const noKey = await attempt(names.table);
    expect(noKey).toBeInstanceOf(BackfillError);
    expect(noKey).toMatchObject({ reason: 'no-primary-key', table: `public.${names.table}` });
    const other = uniqueName('other');
    await sql.query(`CREATE TABLE ${other} (id int PRIMARY KEY)`);
    expect(await attempt(other)).toMatchObject({ name: 'BackfillError', reason: 'not-published' });
  });

  it('fails with a BackfillError when the stream does not carry the watermarks (messages off)', async () => {
    const names = await setup(10);
    const options = { connectionString: url, slot: names.slot, publications: names.publication, stateStore: new MemoryStateStore() };
    const requests = new Subject<string>();
    const result = lastValueFrom(
      logicalReplication(options).pipe(
        parsePgoutput(),
        bufferTransaction(),
        backfill({ ...options, requests }),
      ),
    ).catch((e: unknown) => e);
    requests.next(names.table);
    // Traffic after the watermarks: the stream passes them without sending them.
    for (let i = 0; i < 20 && !(await Promise.race([result.then(() => true), new Promise((r) => setTimeout(() => r(false), 200))])); i++) {
      await sql.query(`UPDATE ${names.table} SET v = v + 1 WHERE id = 1`);
    }
    expect(await result).toMatchObject({ name: 'BackfillError', reason: 'watermark-timeout' });
  });

  it('reads the next chunk only once the previous one reached ackOnCommit (one chunk in flight)', async () => {
    const names = await setup(100);
    const options = { connectionString: url, slot: names.slot, publications: names.publication, stateStore: new MemoryStateStore() };
    const feedback = new LsnFeedback();
    const chunks: number[] = [];
    let release: (() => void) | undefined;
    const held = new Promise<void>((r) => (release = r));
    await lastValueFrom(
      logicalReplication({ ...options, feedback, messages: true }).pipe(
        parsePgoutput(),
        bufferTransaction(),
        backfill({ ...options, tables: [names.table], chunkSize: 10, feedback }),
        concatMap(async (e) => {
          if (e.type === 'backfillRows') {
            chunks.push(e.chunk);
            if (e.chunk === 0) {
              // While the first chunk's work is not done, no second chunk is read.
              await new Promise((r) => setTimeout(r, 1500));
              expect(chunks).toEqual([0]);
              release!();
            }
          }
          return e;
        }),
        ackOnCommit(feedback),
        takeWhile((e) => e.type !== 'backfillEnd'),
      ),
    );
    await held;
    expect(chunks).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
  });

  it('honours the publication row filter and column list (PostgreSQL 15+; 14 publishes every row and column)', async () => {
    const table = uniqueName('filtered');
    const publication = uniqueName('pub');
    const slot = uniqueName('slot');
    const v15 = Number((await sql.query('SHOW server_version_num')).rows[0].server_version_num) >= 150000;
    await sql.query(`CREATE TABLE ${table} (id int PRIMARY KEY, v int NOT NULL, secret text)`);
    await sql.query(`INSERT INTO ${table} SELECT g, g, 'hidden' FROM generate_series(1, 50) g`);
    await sql.query(`CREATE PUBLICATION ${publication} FOR TABLE ${table} ${v15 ? '(id, v) WHERE (id % 2 = 0)' : ''}`);
    await sql.query(`SELECT pg_create_logical_replication_slot($1, 'pgoutput')`, [slot]);
    slots.push(slot);
    const options = { connectionString: url, slot, publications: publication, stateStore: new MemoryStateStore() };
    const rows: Record<string, unknown>[] = [];
    await lastValueFrom(
      logicalReplication({ ...options, messages: true }).pipe(
        parsePgoutput(),
        bufferTransaction(),
        backfill({ ...options, tables: [table], chunkSize: 7 }),
        takeWhile((e) => {
          if (e.type === 'backfillRows') rows.push(...e.rows.map((r) => r.toObject()));
          return e.type !== 'backfillEnd';
        }),
      ),
    );
    if (v15) expect(rows).toEqual(Array.from({ length: 25 }, (_, i) => ({ id: 2 * (i + 1), v: 2 * (i + 1) })));
    else expect(rows).toEqual(Array.from({ length: 50 }, (_, i) => ({ id: i + 1, v: i + 1, secret: 'hidden' })));
  });

  it('a WAL request that fails is recorded as failed, so the replayed request does not fail the next run', async () => {
    const names = await setup(10, { pk: false });
    const options = { connectionString: url, slot: names.slot, publications: names.publication };
    await sql.query(`SELECT pg_logical_emit_message(true, 'walstream.backfill.request', $1)`, [names.table]);
    await endMarker(sql);
    // The stream ends a second after the end marker: time enough for the request to be looked at.
    const run = () =>
      lastValueFrom(
        logicalReplication({ ...options, messages: true }).pipe(
          parsePgoutput(),
          bufferTransaction(),
          backfill(options),
          concatMap(async (e) => {
            if (isEnd(e)) await new Promise((r) => setTimeout(r, 1000));
            return e;
          }),
          takeWhile((e) => !isEnd(e)),
        ),
        { defaultValue: undefined },
      ).then(
        () => 'ended',
        (e: unknown) => e,
      );
    expect(await run()).toMatchObject({ name: 'BackfillError', reason: 'no-primary-key' });
    expect((await sql.query('SELECT value FROM walstream_state WHERE key LIKE $1', [`backfill:${names.slot}:%`])).rows[0].value).toMatchObject({ state: 'failed' });
    await waitFor(async () => (await sql.query('SELECT 1 FROM pg_replication_slots WHERE slot_name = $1 AND active', [names.slot])).rowCount === 0, 10_000, 'slot release');
    expect(await run()).toBe('ended'); // nothing was acknowledged: the request came again, and was skipped
  });

  it('fails with a BackfillError after watermarkTimeout when nothing at all comes through the stream', async () => {
    const names = await setup(10);
    const options = { connectionString: url, slot: names.slot, publications: names.publication, stateStore: new MemoryStateStore() };
    const started = Date.now();
    const err = await lastValueFrom(
      logicalReplication(options).pipe(parsePgoutput(), bufferTransaction(), backfill({ ...options, tables: [names.table], watermarkTimeout: 1500 })),
    ).catch((e: unknown) => e);
    expect(err).toMatchObject({ name: 'BackfillError', reason: 'watermark-timeout' });
    // PostgreSQL 14 sends the watermarks' transactions empty, which the stream passes at once.
    expect(Date.now() - started).toBeLessThan(20_000);
  });

  it('merges large transactions that bufferTransaction emits in chunks (onOverflow: chunk) without a stale row', async () => {
    const ROWS = 20_000;
    const names = await setup(ROWS);
    const feedback = new LsnFeedback();
    const options = { connectionString: url, slot: names.slot, publications: names.publication, stateStore: new MemoryStateStore() };
    const replica = new Replica();
    const hot = { id: 1 };
    let stop = false;
    let partial = 0;
    // Large transactions just ahead of the backfill: 300 updates and a delete in one statement each.
    const big = (async () => {
      const c = await sqlClient(url);
      try {
        while (!stop) {
          const from = Math.min(hot.id, ROWS - 400);
          await c.query(`WITH u AS (UPDATE ${names.table} SET v = v + 1 WHERE id BETWEEN $1 AND $1 + 299 RETURNING id) DELETE FROM ${names.table} WHERE id = $1 + 350`, [from]);
          await new Promise((r) => setTimeout(r, 5));
        }
      } finally {
        await c.end();
      }
    })();
    let ended = false;
    await lastValueFrom(
      logicalReplication({ ...options, feedback, messages: true }).pipe(
        parsePgoutput(),
        bufferTransaction({ onOverflow: 'chunk', maxChanges: 100 }),
        backfill({ ...options, tables: [names.table], chunkSize: 500, feedback }),
        concatMap(async (e) => {
          if (e.type === 'transaction' && e.partial) partial++;
          if (e.type === 'transactionChunk') replica.apply({ ...e, type: 'transaction' } as unknown as Event, names.table);
          if (e.type === 'backfillRows' && e.rows.length > 0) hot.id = (e.rows[e.rows.length - 1].get('id') as number) + 1;
          if (e.type === 'backfillEnd') {
            stop = true;
            await big;
            await endMarker(sql);
          }
          replica.apply(e, names.table);
          if (isEnd(e)) ended = true;
          return e;
        }),
        ackOnCommit(feedback),
        takeWhile(() => !ended),
      ),
    ).finally(() => (stop = true));
    expect(partial).toBeGreaterThan(3);
    expect(differences(replica.rows, await sourceRows(sql, names.table))).toEqual([]);
  }, 120_000);
});
