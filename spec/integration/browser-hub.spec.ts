// BrowserHub (pg-walstream/sinks/browser) from Node clients speaking its protocol: filters,
// authorization row predicates, resume from the window, resync, a slow client, gaps, and how its
// acknowledgement composes with other consumers. The browser itself is in spec/browser.
import { execFileSync, spawn } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { type IncomingMessage, request as httpRequest } from 'node:http';
import { join } from 'node:path';
import type { Client } from 'pg';
import { type Subscription, concatMap, share } from 'rxjs';
import WebSocket from 'ws';
import { LsnFeedback, logicalReplication } from '../../src';
import { ackOnCommit, bufferTransaction, parsePgoutput, splitFeedback } from '../../operators';
import { BrowserHub } from '../../sinks/browser';
import type { ServerMessage, SubscribeRequest } from '../../browser/protocol';
import { type Feed, type Principal, startFeed, testAuthorization } from '../browser/support/feed';
import { defaultServer, sqlClient, uniqueName, waitFor } from '../support/server';

interface Conn {
  readonly messages: ServerMessage[];
  readonly closed: Promise<void>;
  close(): void;
}

function wsClient(port: number, request: Omit<SubscribeRequest, 'type'>): Conn {
  const ws = new WebSocket(`ws://127.0.0.1:${port}/changes`);
  const messages: ServerMessage[] = [];
  ws.on('open', () => ws.send(JSON.stringify({ type: 'subscribe', ...request })));
  ws.on('message', (data) => messages.push(JSON.parse(String(data)) as ServerMessage));
  ws.on('error', () => {});
  return { messages, closed: new Promise((r) => ws.once('close', () => r())), close: () => ws.terminate() };
}

/** An SSE client; `paused` reads nothing after the headers, like a browser tab that stopped reading. */
function sseClient(port: number, request: Omit<SubscribeRequest, 'type'>, o: { lastEventId?: string; paused?: boolean } = {}): Conn & { ids: string[] } {
  const messages: ServerMessage[] = [];
  const ids: string[] = [];
  let res: IncomingMessage | undefined;
  const req = httpRequest({ host: '127.0.0.1', port, path: `/changes?subscribe=${encodeURIComponent(JSON.stringify(request))}`, headers: o.lastEventId ? { 'last-event-id': o.lastEventId } : {} });
  const closed = new Promise<void>((resolve) => {
    req.on('error', () => resolve());
    req.on('response', (r) => {
      res = r;
      if (o.paused) r.pause();
      let buffered = '';
      r.setEncoding('utf8');
      r.on('data', (chunk: string) => {
        buffered += chunk;
        let end: number;
        while ((end = buffered.indexOf('\n\n')) >= 0) {
          for (const line of buffered.slice(0, end).split('\n')) {
            if (line.startsWith('id: ')) ids.push(line.slice(4));
            if (line.startsWith('data: ')) messages.push(JSON.parse(line.slice(6)) as ServerMessage);
          }
          buffered = buffered.slice(end + 2);
        }
      });
      r.socket.once('close', () => resolve()); // a paused response never ends
    });
  });
  req.end();
  return { messages, ids, closed, close: () => (res ? res.destroy() : req.destroy()) };
}

/** A WebSocket client in a child process (spec/support/ws-reader.js): the rows it has read, and its lines. */
function spawnReader(port: number, request: Omit<SubscribeRequest, 'type'>) {
  const child = spawn(process.execPath, [join(__dirname, '../support/ws-reader.js'), String(port), JSON.stringify(request)], { stdio: ['ignore', 'pipe', 'inherit'] });
  const lines: string[] = [];
  let rest = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    const parts = (rest + chunk).split('\n');
    rest = parts.pop()!;
    lines.push(...parts);
  });
  return { child, lines, rows: () => (lines.length ? Number(lines.at(-1)!.split(' ')[0]) : 0) };
}

const transactions = (c: Conn) => c.messages.filter((m) => m.type === 'transaction');
const idsIn = (c: Conn) => transactions(c).flatMap((t) => t.changes.map((ch) => (ch.type === 'truncate' ? -1 : (ch.new ?? ch.key ?? ch.old)!.id as number)));
const ready = (c: Conn) => waitFor(() => c.messages.some((m) => m.type === 'ready' || m.type === 'error'), 10_000, 'ready');

describe('the browser modules', () => {
  const root = join(__dirname, '../..');
  it('pg-walstream/browser is ES modules that import nothing but each other and rxjs', () => {
    const dir = join(root, 'dist/esm/browser');
    const specifiers = readdirSync(dir)
      .filter((f) => f.endsWith('.js'))
      .flatMap((f) => [...readFileSync(join(dir, f), 'utf8').matchAll(/^(?:import|export)\b[^'"]*from\s+'([^']+)'/gm)].map((m) => m[1]));
    expect(specifiers).toContain('rxjs');
    expect(specifiers.filter((s) => s !== 'rxjs' && !/^\.\/[a-z-]+\.js$/.test(s))).toEqual([]);
  });
  it('the root, pg-walstream/operators and pg-walstream/sinks/browser do not load ws', () => {
    const loaded = execFileSync(process.execPath, ['-e', `require('./dist/cjs/src/index.js'); require('./dist/cjs/operators/index.js'); require('./dist/cjs/sinks/browser/index.js');
      console.log(Object.keys(require.cache).filter((k) => k.includes('/node_modules/ws/')).length)`], { cwd: root, encoding: 'utf8' });
    expect(loaded.trim()).toBe('0');
  });
});

describe('BrowserHub', () => {
  const url = defaultServer().url;
  let sql: Client;
  let names: { table: string; publication: string; slot: string };
  let feed: Feed | undefined;
  const conns: Conn[] = [];
  const connect = <C extends Conn>(c: C) => (conns.push(c), c);

  beforeEach(async () => {
    sql = await sqlClient(url);
    names = { table: uniqueName('items'), publication: uniqueName('pub'), slot: uniqueName('slot') };
    await sql.query(`CREATE TABLE ${names.table} (id int PRIMARY KEY, owner text NOT NULL, kind text NOT NULL, body text NOT NULL DEFAULT '')`);
    await sql.query(`CREATE PUBLICATION ${names.publication} FOR TABLE ${names.table}`);
    await sql.query(`SELECT pg_create_logical_replication_slot($1, 'pgoutput')`, [names.slot]);
  });
  afterEach(async () => {
    for (const c of conns.splice(0)) c.close();
    await feed?.stop();
    feed = undefined;
    await sql.query('SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = $1 AND NOT active', [names.slot]).catch(() => {});
    await sql.end();
  });

  const since = async () => (await sql.query('SELECT confirmed_flush_lsn::text AS l FROM pg_replication_slots WHERE slot_name = $1', [names.slot])).rows[0].l as string;
  const insert = async (ids: number[], owner = 'alice', kind = 'a', body = '') => {
    for (const id of ids) await sql.query(`INSERT INTO ${names.table} (id, owner, kind, body) VALUES ($1, $2, $3, $4)`, [id, owner, kind, body]);
  };
  const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);
  const table = () => ({ table: names.table });

  it("applies the client's where and the authorization's row predicate, and leaves out old values the predicate hides", async () => {
    const authorize = {
      connection: ({ token }: { token?: string }) => (token ? { name: token, tables: [] } : undefined),
      table: (p: Principal) => (row: Record<string, unknown>) => row.owner === p.name,
    };
    feed = await startFeed({ url, slot: names.slot, publication: names.publication, hub: { authorize, since: await since() } });
    const alice = connect(wsClient(feed.port, { token: 'alice', tables: [table()] }));
    const aliceKindB = connect(sseClient(feed.port, { token: 'alice', tables: [{ ...table(), where: { kind: ['b', 'c'] } }] }));
    const bob = connect(wsClient(feed.port, { token: 'bob', tables: [table()] }));
    await Promise.all([alice, aliceKindB, bob].map(ready));
    await insert([1, 2], 'alice', 'a');
    await insert([3], 'alice', 'b');
    await insert([4], 'bob', 'b');
    await sql.query(`ALTER TABLE ${names.table} REPLICA IDENTITY FULL`);
    await sql.query(`UPDATE ${names.table} SET owner = 'alice' WHERE id = 4`); // bob's row becomes alice's: alice must not see bob's old values
    await sql.query(`TRUNCATE ${names.table}`);
    await waitFor(() => idsIn(alice).length === 5 && idsIn(bob).length === 2 && idsIn(aliceKindB).length === 3, 10_000, 'deliveries');
    expect(idsIn(alice)).toEqual([1, 2, 3, 4, -1]);
    expect(idsIn(aliceKindB)).toEqual([3, 4, -1]);
    expect(idsIn(bob)).toEqual([4, -1]); // his insert, and the truncate; not the update that took the row away
    const update = transactions(alice)[3].changes[0];
    expect(update).toMatchObject({ type: 'update', new: { id: 4, owner: 'alice' } });
    expect(update).not.toHaveProperty('old');
  });

  it('resumes a client after its position from the window (WebSocket from, SSE Last-Event-ID), and tells one older than the window to resync', async () => {
    feed = await startFeed({ url, ...names, hub: { authorize: testAuthorization([`public.${names.table}`]), since: await since(), window: { maxTransactions: 5 } } });
    const live = connect(wsClient(feed.port, { token: 'alice-token', tables: [table()] }));
    await ready(live);
    await insert(range(1, 10));
    await waitFor(() => idsIn(live).length === 10, 10_000, '10 transactions');
    const lsns = transactions(live).map((t) => t.lsn);

    const resumed = connect(wsClient(feed.port, { token: 'alice-token', tables: [table()], from: lsns[6] }));
    const resumedSse = connect(sseClient(feed.port, { token: 'alice-token', tables: [table()], from: lsns[0] }, { lastEventId: lsns[5] })); // the header wins
    await waitFor(() => idsIn(resumed).length === 3 && idsIn(resumedSse).length === 4, 10_000, 'the replay');
    expect(resumed.messages[0]).toEqual({ type: 'ready', lsn: lsns[6], heartbeatMs: 15_000 });
    expect(idsIn(resumed)).toEqual([8, 9, 10]);
    expect(idsIn(resumedSse)).toEqual([7, 8, 9, 10]);
    expect(resumedSse.ids.slice(-4)).toEqual(lsns.slice(6));

    const behind = connect(wsClient(feed.port, { token: 'alice-token', tables: [table()], from: lsns[3] })); // transactions 5 is gone from the window
    await ready(behind);
    expect(behind.messages.slice(0, 2)).toEqual([
      { type: 'resync', lsn: lsns[9], reason: 'behind-window' },
      { type: 'ready', lsn: lsns[9], heartbeatMs: 15_000 },
    ]);
    await insert([11]);
    await waitFor(() => idsIn(behind).length === 1, 10_000, 'the next transaction');
    expect(idsIn(behind)).toEqual([11]);
  });

  it('moves a client past transactions it did not subscribe to with heartbeats, so it does not fall out of the window', async () => {
    await sql.query(`CREATE TABLE ${names.table}_other (id int PRIMARY KEY)`);
    await sql.query(`ALTER PUBLICATION ${names.publication} ADD TABLE ${names.table}_other`);
    feed = await startFeed({ url, ...names, hub: { authorize: testAuthorization([`public.${names.table}`]), since: await since(), window: { maxTransactions: 3 }, heartbeatMs: 200 } });
    const quiet = connect(sseClient(feed.port, { token: 'alice-token', tables: [table()] }));
    await ready(quiet);
    for (let id = 1; id <= 10; id++) await sql.query(`INSERT INTO ${names.table}_other VALUES ($1)`, [id]);
    await waitFor(() => feed!.published === 10, 10_000, 'ten transactions');
    const head = feed.hub.stats().head;
    await waitFor(() => quiet.messages.some((m) => m.type === 'heartbeat' && m.lsn === head), 5_000, 'a heartbeat at the head');
    expect(transactions(quiet)).toEqual([]);
    const back = connect(wsClient(feed.port, { token: 'alice-token', tables: [table()], from: quiet.ids.at(-1) }));
    await ready(back);
    expect(back.messages[0]).toEqual({ type: 'ready', lsn: head, heartbeatMs: 200 });
  });

  it('cuts off a client that stopped reading, without holding back the slot or the other clients; it resyncs when it comes back', async () => {
    const startedAt = await since();
    feed = await startFeed({ url, ...names, hub: { authorize: testAuthorization([`public.${names.table}`]), since: startedAt, window: { maxTransactions: 50 }, maxBufferedBytes: 1024 * 1024 } });
    // The fast client reads in a process of its own, so the hub's bursts in this process never starve it.
    const fast = spawnReader(feed.port, { token: 'alice-token', tables: [table()] });
    try {
      connect(sseClient(feed.port, { token: 'alice-token', tables: [table()] }, { paused: true })); // the slow one
      await waitFor(() => fast.lines.length > 0 && feed!.hub.stats().clients === 2, 10_000, 'two clients');
      // 24 MB of rows in 600 transactions: more than the kernel's socket buffers and the hub's 1 MB take for the paused client.
      for (let i = 0; i < 600; i += 50) {
        await sql.query(`DO $$ BEGIN FOR i IN ${i + 1}..${i + 50} LOOP INSERT INTO ${names.table} VALUES (i, 'alice', 'a', repeat('x', 40000) || i); COMMIT; END LOOP; END $$`);
      }
      await waitFor(() => fast.rows() === 600, 90_000, 'every row at the fast client'); // 24 MB: allow for a loaded CI machine
      // Cut off. (The paused client itself notices only when it reads again.)
      await waitFor(() => feed!.hub.stats().clients === 1, 10_000, 'the slow client to be cut off');
      const lastLsn = fast.lines.at(-1)!.split(' ')[1];
      await waitFor(() => feed!.feedback.acknowledged.toString() === lastLsn, 10_000, 'the hub to acknowledge the last transaction');
      // It read nothing past the headers: it comes back from where it started.
      const back = connect(wsClient(feed.port, { token: 'alice-token', tables: [table()], from: startedAt }));
      await ready(back);
      expect(back.messages[0]).toMatchObject({ type: 'resync', reason: 'behind-window', lsn: lastLsn });
    } finally {
      fast.child.kill();
    }
  }, 120_000);

  it('tells every client to resync at a transaction bufferTransaction had to chunk', async () => {
    feed = await startFeed({ url, ...names, buffer: { maxChanges: 5, onOverflow: 'chunk' }, hub: { authorize: testAuthorization([`public.${names.table}`]), since: await since() } });
    const client = connect(wsClient(feed.port, { token: 'alice-token', tables: [table()] }));
    await ready(client);
    await insert([1]);
    await sql.query(`INSERT INTO ${names.table} (id, owner, kind) SELECT g, 'alice', 'a' FROM generate_series(2, 11) g`);
    await insert([12]);
    await waitFor(() => idsIn(client).includes(12), 10_000, 'the transaction after the large one');
    expect(idsIn(client)).toEqual([1, 12]);
    expect(client.messages.filter((m) => m.type === 'resync')).toEqual([expect.objectContaining({ type: 'resync', reason: 'gap' })]);
  });

  it('acknowledges nothing that another consumer on the same slot has not finished (splitFeedback)', async () => {
    const feedback = new LsnFeedback();
    const [forBrowsers, forIndex] = splitFeedback(feedback, 2);
    const hub = new BrowserHub({ authorize: testAuthorization([`public.${names.table}`]), since: await since() });
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const events$ = logicalReplication({ connectionString: url, slot: names.slot, publications: names.publication, feedback, statusInterval: 100 }).pipe(parsePgoutput(), bufferTransaction(), share());
    const received: number[] = [];
    const subs: Subscription[] = [
      events$.pipe(hub.publish(), ackOnCommit(forBrowsers)).subscribe((e) => e.type === 'transaction' && received.push(e.changes.length)),
      events$.pipe(concatMap(async (e) => (await gate, e)), ackOnCommit(forIndex)).subscribe(),
    ];
    try {
      const start = feedback.acknowledged;
      await insert(range(1, 5));
      await waitFor(() => received.length === 5 && hub.stats().transactions === 5, 10_000, 'five transactions in the hub');
      expect(forBrowsers.acknowledged.toString()).toBe(hub.stats().head);
      expect(feedback.acknowledged).toEqual(start); // the slot waits for the indexer
      release();
      await waitFor(() => feedback.acknowledged.toString() === hub.stats().head, 10_000, 'the slot to follow the indexer');
    } finally {
      subs.forEach((s) => s.unsubscribe());
      hub.close();
    }
  });
});
