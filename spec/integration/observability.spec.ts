// Metrics, slot health, warnings and logs against a real stream on a server of this test's own
// (PostgreSQL 18, embedded), so WAL written by other tests cannot move the lag it checks.
import type { Client } from 'pg';
import { type Subscription, concatMap, firstValueFrom, take, toArray } from 'rxjs';
import { Lsn, LsnFeedback, logicalReplication, physicalReplication } from '../../src';
import { type MetricsServer, startMetricsServer } from '../../cli/metrics-server';
import { type LocalServer, embeddedBinDir, startPostgresFromBinaries } from '../../src/embedded';
import type { Logger } from '../../src/logger';
import { ReplicationMetrics, type SlotHealth, retryLogger, slotHealth } from '../../src/metrics';
import { ackOnCommit, bufferTransaction, parsePgoutput, retryWithBackoff } from '../../operators';
import { createFixture, writeWorkload } from '../support/delivery';
import { allServers, sqlClient, uniqueName, waitFor } from '../support/server';
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { SERVER_SETTINGS } = require('../support/server-config.cjs') as { SERVER_SETTINGS: Record<string, string> };

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** A logger that keeps every line. */
function memoryLogger(): Logger & { lines: { level: string; fields: object; message: string }[] } {
  const lines: { level: string; fields: object; message: string }[] = [];
  const at = (level: string) => (fields: object, message: string) => void lines.push({ level, fields, message });
  return { lines, debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}

/** Scrapes /metrics and returns `name{labels}` → value. */
async function scrape(port: number): Promise<Map<string, number> & { text: string }> {
  const res = await fetch(`http://127.0.0.1:${port}/metrics`);
  expect(res.status).toBe(200);
  const text = await res.text();
  const values = new Map<string, number>() as Map<string, number> & { text: string };
  values.text = text;
  for (const line of text.split('\n')) {
    const m = /^(pg_walstream_[a-z_]+(?:\{[^}]*\})?) (\S+)$/.exec(line);
    if (m) values.set(m[1].replace(/\{slot="[^"]*"\}$/, '').replace(/slot="[^"]*",?/, ''), Number(m[2]));
  }
  return values;
}

const lsnBytes = (text: string | null) => (text === null ? NaN : Number(Lsn.parse(text).value));

// This suite starts its own PostgreSQL 18 (the embedded one) whatever the run's server is, so the
// version matrix (PG_TEST_VERSION=14..17) skips it rather than run the same thing five times; the
// version-aware suite below runs on every server.
const ownServer = !process.env.PG_TEST_VERSION || process.env.PG_TEST_VERSION === '18';

(ownServer ? describe : describe.skip)('observability of a real stream (own PostgreSQL 18)', () => {
  let server: LocalServer;
  let sql: Client;
  beforeAll(async () => {
    server = await startPostgresFromBinaries(embeddedBinDir(), { settings: SERVER_SETTINGS });
    sql = await sqlClient(server.url);
  }, 60_000);
  afterAll(async () => {
    await sql?.end().catch(() => {});
    await server?.destroy();
  }, 60_000);

  it('scrapes lag that grows under a slow consumer and returns to 0, counts reconnections, and agrees with pg_stat_replication and pg_replication_slots', async () => {
    const names = { table: uniqueName('t'), publication: uniqueName('pub'), slot: uniqueName('slot') };
    await createFixture(sql, names);
    await sql.query(`ALTER SYSTEM SET max_slot_wal_keep_size = '1GB'`);
    await sql.query('SELECT pg_reload_conf()');
    const logger = memoryLogger();
    const endpoint: MetricsServer = await startMetricsServer({ connectionString: server.url, slot: names.slot, port: 0, host: '127.0.0.1', slotInterval: 100, thresholds: { lagBytes: 256 * 1024, lagSeconds: 0.5 }, logger });
    const feedback = new LsnFeedback();
    let slow = true;
    let finished = 0;
    const subscription: Subscription = logicalReplication({
      connectionString: server.url, slot: names.slot, publications: names.publication, feedback, statusInterval: 100,
      flowControl: { maxPendingTransactions: 5 }, observer: endpoint.metrics, logger,
    })
      .pipe(
        parsePgoutput(),
        bufferTransaction(),
        retryWithBackoff({ initialDelay: 50, maxDelay: 200, onRetry: retryLogger(logger) }),
        concatMap(async (event) => {
          if (event.type === 'transaction') {
            if (slow) await sleep(60);
            finished++;
          }
          return event;
        }),
        ackOnCommit(feedback),
      )
      .subscribe({ error: (err) => logger.error({ err: String(err) }, 'test stream failed') });
    const port = endpoint.port;
    try {
      await waitFor(async () => (await scrape(port)).get('pg_walstream_connected') === 1, 10_000, 'the stream to connect');
      // The writer commits faster than the consumer finishes: lag grows while it writes.
      let writing = true;
      const written = writeWorkload(server.url, names.table, { firstId: 1, transactions: 150, rows: 5, payload: 1000, pauseEvery: 1, pauseMs: 10 }).finally(() => (writing = false));
      const samples: { bytes: number; seconds: number }[] = [];
      await sleep(300);
      while (writing) {
        const m = await scrape(port);
        samples.push({ bytes: m.get('pg_walstream_lag_bytes')!, seconds: m.get('pg_walstream_lag_seconds')! });
        await sleep(200);
      }
      const nextId = await written;
      expect(samples.length).toBeGreaterThanOrEqual(3);
      const last = samples[samples.length - 1];
      expect(last.bytes).toBeGreaterThan(samples[0].bytes);
      expect(last.seconds).toBeGreaterThan(samples[0].seconds);
      expect(last.seconds).toBeGreaterThan(0.5);
      expect(finished).toBeLessThan(150);

      // The consumer speeds up and catches up: lag returns to 0.
      slow = false;
      await waitFor(async () => {
        const m = await scrape(port);
        return m.get('pg_walstream_lag_bytes') === 0 && m.get('pg_walstream_lag_seconds') === 0 && m.get('pg_walstream_transactions_total')! >= 150;
      }, 20_000, 'lag back to 0');
      expect(finished).toBeGreaterThanOrEqual(150);
      const afterCatchUp = await scrape(port);
      expect(afterCatchUp.get('pg_walstream_flow_control_paused_seconds_total')).toBeGreaterThan(0);
      expect(afterCatchUp.get('pg_walstream_flow_control_pauses_total')).toBeGreaterThan(0);
      expect(afterCatchUp.get('pg_walstream_received_bytes_total')).toBeGreaterThan(150 * 5 * 1000);

      // The values agree with the server's own views once the stream is idle.
      let diff = '';
      await waitFor(async () => {
        const m = await scrape(port);
        const { rows: [r] } = await sql.query(
          `SELECT r.write_lsn::text AS write, r.flush_lsn::text AS flush, s.confirmed_flush_lsn::text AS confirmed, s.wal_status, s.safe_wal_size::text AS safe,
                  pg_wal_lsn_diff(pg_current_wal_lsn(), s.restart_lsn)::text AS restart_lag, s.active
             FROM pg_replication_slots s JOIN pg_stat_replication r ON r.pid = s.active_pid WHERE s.slot_name = $1`, [names.slot]);
        const pairs: [string, number, number][] = [
          ['flushed = pg_stat_replication.flush_lsn', m.get('pg_walstream_flushed_lsn_bytes')!, lsnBytes(r.flush)],
          ['flushed = confirmed_flush_lsn', m.get('pg_walstream_flushed_lsn_bytes')!, lsnBytes(r.confirmed)],
          ['received = pg_stat_replication.write_lsn', m.get('pg_walstream_received_lsn_bytes')!, lsnBytes(r.write)],
          ['slot safe_wal_size', m.get('pg_walstream_slot_safe_wal_size_bytes')!, Number(r.safe)],
          ['slot restart_lsn lag', m.get('pg_walstream_slot_restart_lsn_lag_bytes')!, Number(r.restart_lag)],
          [`slot wal_status ${r.wal_status}`, m.get(`pg_walstream_slot_wal_status{status="${r.wal_status}"}`)!, 1],
          ['slot active', m.get('pg_walstream_slot_active')!, r.active ? 1 : 0],
        ];
        diff = pairs.filter(([, a, b]) => a !== b).map(([what, a, b]) => `${what}: ${a} vs ${b}`).join('; ');
        return diff === '';
      }, 15_000, 'metrics to agree with the server').catch((err) => {
        throw new Error(`${(err as Error).message}: ${diff}`);
      });

      // Reconnections: terminate the walsender; retryWithBackoff reconnects and the count says so.
      const before = (await scrape(port)).get('pg_walstream_reconnections_total');
      expect(before).toBe(0);
      await sql.query('SELECT pg_terminate_backend(active_pid) FROM pg_replication_slots WHERE slot_name = $1', [names.slot]);
      await waitFor(async () => {
        const m = await scrape(port);
        return m.get('pg_walstream_reconnections_total') === 1 && m.get('pg_walstream_connected') === 1;
      }, 15_000, 'one reconnection');
      const m = await scrape(port);
      const errors = [...m.entries()].filter(([k]) => k.startsWith('pg_walstream_errors_total'));
      expect(errors.reduce((n, [, v]) => n + v, 0)).toBe(1);
      expect(m.get('pg_walstream_last_error_timestamp_seconds')).toBeGreaterThan(Date.now() / 1000 - 60);
      // The stream goes on after the reconnection.
      await writeWorkload(server.url, names.table, { firstId: nextId, transactions: 1, rows: 1 });
      await waitFor(async () => (await scrape(port)).get('pg_walstream_transactions_total')! >= 151, 10_000, 'a transaction after the reconnection');

      // Logs: connection, flow control, retry and slot events, and never the password.
      const messages = logger.lines.map((l) => `${l.level} ${l.message}`);
      expect(messages.filter((x) => x === 'info replication connection ready')).toHaveLength(2);
      expect(messages).toContain('info flow control paused reading: the consumer has too much unacknowledged work');
      expect(logger.lines.find((l) => l.message === 'flow control resumed reading')?.fields).toEqual({ slot: names.slot, pausedMs: expect.any(Number) });
      expect(messages).toContain('warn replication stream failed');
      expect(messages.some((x) => x.startsWith('warn replication stream failed; retry 1 in'))).toBe(true);
      expect(logger.lines.some((l) => l.level === 'warn' && (l.fields as { warning?: string }).warning === 'lag-bytes')).toBe(true);
      expect(logger.lines.some((l) => l.level === 'warn' && (l.fields as { warning?: string }).warning === 'lag-seconds')).toBe(true);
      expect(messages.some((x) => /^info replication slot ".*": lag-seconds cleared$/.test(x))).toBe(true);
      // restart_lsn advances at the next running-transactions record, which a checkpoint writes.
      await sql.query('CHECKPOINT');
      await waitFor(() => logger.lines.some((l) => /^replication slot ".*": lag-bytes cleared$/.test(l.message)), 15_000, 'the lag-bytes warning to clear');
      expect(logger.lines.some((l) => l.level === 'error')).toBe(false);
      const everything = JSON.stringify(logger.lines) + m.text;
      expect(everything).not.toContain(server.password);
      expect(everything).not.toContain(server.url);
      subscription.unsubscribe();
      expect(logger.lines.map((l) => l.message)).toContain('replication stream closed by the consumer');
    } finally {
      subscription.unsubscribe();
      await endpoint.close();
      await waitFor(async () => (await sql.query('SELECT active FROM pg_replication_slots WHERE slot_name = $1', [names.slot])).rows[0]?.active === false, 10_000, 'the slot to be released');
      await sql.query('SELECT pg_drop_replication_slot($1)', [names.slot]);
      await sql.query(`ALTER SYSTEM RESET max_slot_wal_keep_size`);
      await sql.query('SELECT pg_reload_conf()');
    }
  });

  /** Subscribes to slotHealth and returns the readings as they come. */
  function watch(slot: string, options: Partial<Parameters<typeof slotHealth>[0]> = {}) {
    const readings: SlotHealth[] = [];
    const sub = slotHealth({ connectionString: server.url, slot, interval: 100, ...options }).subscribe((h) => readings.push(h));
    return { readings, stop: () => sub.unsubscribe(), next: async () => { const n = readings.length; await waitFor(() => readings.length > n, 10_000, 'a slot reading'); return readings[readings.length - 1]; } };
  }

  it('warns while safe_wal_size runs out under max_slot_wal_keep_size, before the slot is lost, then reports it lost', async () => {
    const names = { table: uniqueName('t'), publication: uniqueName('pub'), slot: uniqueName('slot') };
    await createFixture(sql, names);
    await sql.query(`ALTER SYSTEM SET max_slot_wal_keep_size = '64MB'`);
    await sql.query('SELECT pg_reload_conf()');
    const logger = memoryLogger();
    const w = watch(names.slot, { thresholds: { safeWalSizeFraction: 0.5 }, logger });
    try {
      let h = await w.next();
      expect(h).toMatchObject({ exists: true, walStatus: 'reserved', maxSlotWalKeepSize: 64 * 1024 * 1024, warnings: [] });
      expect(h.safeWalSize).toBeGreaterThan(32 * 1024 * 1024);
      // Nobody consumes the slot: every segment switch adds 16 MB of WAL it retains.
      let warnedWhileReserved = false;
      for (let i = 0; i < 12 && !h.warnings.some((x) => x.kind === 'slot-lost'); i++) {
        await sql.query(`INSERT INTO ${names.table} VALUES (${i}, 'x')`);
        await sql.query('SELECT pg_switch_wal()');
        if (i >= 3) await sql.query('CHECKPOINT');
        h = await w.next();
        h = await w.next();
        if (h.warnings.some((x) => x.kind === 'safe-wal-size-low') && (h.walStatus === 'reserved' || h.walStatus === 'extended')) warnedWhileReserved = true;
      }
      expect(warnedWhileReserved).toBe(true);
      expect(h.walStatus).toBe('lost');
      expect(h.warnings.map((x) => [x.kind, x.severity])).toContainEqual(['slot-lost', 'error']);
      const logged = logger.lines.map((l) => `${l.level} ${(l.fields as { warning?: string }).warning}`);
      expect(logged.indexOf('warn safe-wal-size-low')).toBeGreaterThanOrEqual(0);
      expect(logged.indexOf('warn safe-wal-size-low')).toBeLessThan(logged.indexOf('error slot-lost'));
      expect(logged.filter((x) => x === 'error slot-lost')).toHaveLength(1); // logged once, not at every reading
    } finally {
      w.stop();
      await sql.query('SELECT pg_drop_replication_slot($1)', [names.slot]);
      await sql.query(`ALTER SYSTEM RESET max_slot_wal_keep_size`);
      await sql.query('SELECT pg_reload_conf()');
    }
  });

  it('warns before idle_replication_slot_timeout invalidates an inactive slot (PostgreSQL 18)', async () => {
    expect(server.major).toBeGreaterThanOrEqual(18);
    const slot = uniqueName('slot');
    await sql.query(`SELECT pg_create_logical_replication_slot($1, 'pgoutput')`, [slot]);
    await sql.query(`ALTER SYSTEM SET idle_replication_slot_timeout = '4s'`);
    await sql.query('SELECT pg_reload_conf()');
    const logger = memoryLogger();
    const w = watch(slot, { logger });
    try {
      await waitFor(() => w.readings.some((h) => h.warnings.some((x) => x.kind === 'idle-timeout-near')), 10_000, 'the idle warning');
      const warned = w.readings.find((h) => h.warnings.some((x) => x.kind === 'idle-timeout-near'))!;
      expect(warned).toMatchObject({ active: false, idleReplicationSlotTimeout: 4, invalidationReason: null });
      expect(warned.inactiveSince).toBeInstanceOf(Date);
      // Past the timeout, the next checkpoint invalidates the slot.
      await sleep(Math.max(0, warned.inactiveSince!.getTime() + 4500 - Date.now()));
      await sql.query('CHECKPOINT');
      const lost = await w.next().then(() => w.next());
      expect(lost.invalidationReason).toBe('idle_timeout');
      expect(lost.warnings.map((x) => x.kind)).toContain('slot-lost');
      expect(logger.lines.map((l) => `${l.level} ${(l.fields as { warning?: string }).warning}`)).toEqual(expect.arrayContaining(['warn idle-timeout-near', 'error slot-lost']));
    } finally {
      w.stop();
      await sql.query('SELECT pg_drop_replication_slot($1)', [slot]);
      await sql.query(`ALTER SYSTEM RESET idle_replication_slot_timeout`);
      await sql.query('SELECT pg_reload_conf()');
    }
  });

  it('reports a missing slot, and keeps polling across a server restart', async () => {
    const logger = memoryLogger();
    const w = watch('no_such_slot', { logger });
    try {
      const h = await w.next();
      expect(h).toMatchObject({ exists: false, slotType: null, walStatus: null });
      expect(h.warnings.map((x) => x.kind)).toEqual(['slot-missing']);
      await sql.end();
      await server.stop();
      await sleep(300);
      await server.start();
      sql = await sqlClient(server.url);
      const n = w.readings.length;
      await waitFor(() => w.readings.length > n + 1, 15_000, 'readings after the restart');
      const failed = logger.lines.filter((l) => l.message === "could not read the replication slot's health");
      expect(failed.length).toBeGreaterThanOrEqual(1);
      expect(failed[0].level).toBe('warn');
      expect(logger.lines.filter((l) => l.message === 'replication slot "no_such_slot" does not exist')).toHaveLength(1);
      expect(JSON.stringify(logger.lines)).not.toContain(server.password);
    } finally {
      w.stop();
    }
  });
});

describe.each(allServers().map((s) => [s.label, s] as const))('slot health and metrics by server version (%s)', (_label, target) => {
  it('reads the columns this server has, and none it lacks', async () => {
    const sql = await sqlClient(target.url);
    const slot = uniqueName('slot');
    try {
      await sql.query(`SELECT pg_create_logical_replication_slot($1, 'pgoutput')`, [slot]);
      const metrics = new ReplicationMetrics();
      const h = await firstValueFrom(slotHealth({ connectionString: target.url, slot, metrics }));
      // The reading's pg_current_wal_lsn() becomes the stream's WAL end.
      expect(metrics.snapshot().serverWalEnd.toString()).toBe(h.currentWalLsn?.toString());
      const v = h.serverVersion;
      const { rows: [r] } = await sql.query(`SELECT restart_lsn::text AS restart, confirmed_flush_lsn::text AS confirmed, wal_status FROM pg_replication_slots WHERE slot_name = $1`, [slot]);
      expect(h).toMatchObject({ exists: true, slotType: 'logical', active: false, activePid: null, walStatus: r.wal_status, invalidationReason: null });
      expect(h.restartLsn?.toString()).toBe(r.restart);
      expect(h.confirmedFlushLsn?.toString()).toBe(r.confirmed);
      expect(h.restartLagBytes).toBeGreaterThanOrEqual(0);
      expect(h.currentWalLsn).not.toBeNull();
      expect(h.conflicting).toBe(v >= 160000 ? false : null);
      expect(h.inactiveSince === null).toBe(v < 170000);
      expect(h.idleReplicationSlotTimeout).toBe(v >= 180000 ? 0 : null);
      expect(h.maxSlotWalKeepSize === null).toBe(h.safeWalSize === null); // -1 (unlimited) by default: no safe size
    } finally {
      await sql.query('SELECT pg_drop_replication_slot($1)', [slot]).catch(() => {});
      await sql.end();
    }
  });

  it('measures a physical stream', async () => {
    const metrics = new ReplicationMetrics();
    const frames = await firstValueFrom(physicalReplication({ connectionString: target.url, observer: metrics, statusInterval: 100 }).pipe(take(3), toArray()));
    const s = metrics.snapshot();
    expect(s).toMatchObject({ kind: 'physical', connections: 1, reconnections: 0 });
    expect(s.bytes).toBeGreaterThan(0);
    expect(s.serverWalEnd.value).toBeGreaterThan(0n);
    expect(frames[0].type).toBe('streamStart');
  });
});
