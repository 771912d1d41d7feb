import { MeterProvider, MetricReader } from '@opentelemetry/sdk-metrics';
import { Registry } from 'prom-client';
import { of } from 'rxjs';
import { Lsn, LsnFeedback, PgError } from '../../src';
import { decodeReplicationFrame, encodePrimaryKeepalive } from '../../src/protocol';
import { ReplicationMetrics, type SlotHealth, slotWarnings } from '../../src/metrics';
import { OpenTelemetryMetrics } from '../../src/metrics/opentelemetry';
import { PrometheusMetrics } from '../../src/metrics/prometheus';

const MiB = 1024 * 1024;

function health(overrides: Partial<SlotHealth> = {}): SlotHealth {
  return {
    at: Date.parse('2026-11-30T12:00:00Z'),
    slot: 'app',
    exists: true,
    serverVersion: 180001,
    slotType: 'logical',
    active: true,
    activePid: 42,
    restartLsn: Lsn.parse('0/1000000'),
    confirmedFlushLsn: Lsn.parse('0/1800000'),
    currentWalLsn: Lsn.parse('0/2000000'),
    restartLagBytes: 16 * MiB,
    confirmedFlushLagBytes: 8 * MiB,
    walStatus: 'reserved',
    safeWalSize: 48 * MiB,
    inactiveSince: null,
    conflicting: false,
    invalidationReason: null,
    maxSlotWalKeepSize: 64 * MiB,
    idleReplicationSlotTimeout: 0,
    warnings: [],
    ...overrides,
  };
}

function streamMetrics(): ReplicationMetrics {
  const m = new ReplicationMetrics();
  m.connected({ kind: 'logical', slot: 'app', target: 'h:5432', serverVersion: 180001, feedback: new LsnFeedback('0/100') });
  const k = encodePrimaryKeepalive(Lsn.parse('0/400'), 0n, false);
  m.frame(decodeReplicationFrame(k), k.length);
  m.statusSent(Lsn.parse('0/200'), Lsn.parse('0/100'));
  m.error(new PgError({ code: '57P01', message: 'terminating connection due to administrator command' }));
  m.connected({ kind: 'logical', slot: 'app', target: 'h:5432', serverVersion: 180001, feedback: new LsnFeedback('0/100') });
  return m;
}

describe('slotWarnings', () => {
  it('says nothing about a healthy slot', () => {
    expect(slotWarnings(health())).toEqual([]);
  });
  it('warns when safe_wal_size falls below a fraction of max_slot_wal_keep_size, and when WAL is unreserved', () => {
    expect(slotWarnings(health({ safeWalSize: 10 * MiB })).map((w) => w.kind)).toEqual(['safe-wal-size-low']);
    expect(slotWarnings(health({ safeWalSize: 10 * MiB }), { safeWalSizeFraction: 0.1 })).toEqual([]);
    expect(slotWarnings(health({ walStatus: 'unreserved', safeWalSize: -1 })).map((w) => w.kind)).toEqual(['wal-unreserved']);
  });
  it('reports a lost or invalidated slot as an error', () => {
    expect(slotWarnings(health({ walStatus: 'lost', safeWalSize: null })).map((w) => [w.kind, w.severity])).toEqual([['slot-lost', 'error']]);
    expect(slotWarnings(health({ invalidationReason: 'idle_timeout' }))[0].message).toContain('idle_timeout');
    expect(slotWarnings(health({ exists: false }))).toEqual([expect.objectContaining({ kind: 'slot-missing', severity: 'error' })]);
    expect(slotWarnings(health({ conflicting: true })).map((w) => w.kind)).toEqual(['conflicting']);
  });
  it('warns when an inactive slot nears idle_replication_slot_timeout (PostgreSQL 18)', () => {
    const at = Date.parse('2026-11-30T12:00:00Z');
    const idle = (seconds: number, active = false) => health({ active, idleReplicationSlotTimeout: 600, inactiveSince: new Date(at - seconds * 1000) });
    expect(slotWarnings(idle(200))).toEqual([]);
    expect(slotWarnings(idle(300)).map((w) => w.kind)).toEqual(['idle-timeout-near']);
    expect(slotWarnings(idle(300, true))).toEqual([]);
    expect(slotWarnings(idle(400), { idleTimeoutFraction: 0.9 })).toEqual([]);
  });
  it('applies the lag thresholds', () => {
    expect(slotWarnings(health(), { lagBytes: 16 * MiB }).map((w) => w.kind)).toEqual(['lag-bytes']);
    expect(slotWarnings(health(), { lagBytes: 17 * MiB })).toEqual([]);
    expect(slotWarnings(health(), { lagSeconds: 30 }, 31).map((w) => w.kind)).toEqual(['lag-seconds']);
    expect(slotWarnings(health(), { lagSeconds: 30 }, 29)).toEqual([]);
  });
});

describe('PrometheusMetrics', () => {
  it('names metrics with base units and _total, labelled by slot', async () => {
    const registry = new Registry();
    const prom = new PrometheusMetrics({ registry }).addStream(streamMetrics()).addSlot(of(health({ warnings: [{ kind: 'lag-bytes', severity: 'warn', message: '' }] })));
    const text = await registry.metrics();
    prom.close();
    expect(text).toContain('# TYPE pg_walstream_lag_bytes gauge');
    expect(text).toContain('pg_walstream_lag_bytes{slot="app"} 768'); // 0x400 - 0x100
    expect(text).toContain('pg_walstream_flushed_lsn_bytes{slot="app"} 256');
    expect(text).toContain('pg_walstream_received_lsn_bytes{slot="app"} 512');
    expect(text).toContain('pg_walstream_server_wal_end_lsn_bytes{slot="app"} 1024');
    expect(text).toContain('# TYPE pg_walstream_reconnections_total counter');
    expect(text).toContain('pg_walstream_reconnections_total{slot="app"} 1');
    expect(text).toContain('pg_walstream_errors_total{slot="app",error="PgError",code="57P01"} 1');
    expect(text).toMatch(/pg_walstream_lag_seconds\{slot="app"\} 0/);
    expect(text).toContain('pg_walstream_slot_wal_status{slot="app",status="reserved"} 1');
    expect(text).toContain('pg_walstream_slot_wal_status{slot="app",status="lost"} 0');
    expect(text).toContain(`pg_walstream_slot_safe_wal_size_bytes{slot="app"} ${48 * MiB}`);
    expect(text).toContain(`pg_walstream_slot_restart_lsn_lag_bytes{slot="app"} ${16 * MiB}`);
    expect(text).toContain('pg_walstream_slot_warning{slot="app",warning="lag-bytes"} 1');
    expect(text).toContain('pg_walstream_slot_warning{slot="app",warning="slot-lost"} 0');
    expect(text).toContain('pg_walstream_slot_conflicting{slot="app"} 0');
    // Counters do not double on a second scrape.
    expect(await registry.metrics()).toContain('pg_walstream_reconnections_total{slot="app"} 1');
  });
});

class TestReader extends MetricReader {
  protected async onShutdown(): Promise<void> {}
  protected async onForceFlush(): Promise<void> {}
}

describe('OpenTelemetryMetrics', () => {
  it('reports instruments with UCUM units and semantic-convention attributes', async () => {
    const reader = new TestReader();
    const provider = new MeterProvider({ readers: [reader] });
    const otel = new OpenTelemetryMetrics(provider.getMeter('pg-walstream')).addStream(streamMetrics()).addSlot(of(health()));
    const { resourceMetrics } = await reader.collect();
    otel.close();
    const metrics = resourceMetrics.scopeMetrics.flatMap((s) => s.metrics);
    const byName = new Map(metrics.map((m) => [m.descriptor.name, m]));
    const point = (name: string) => byName.get(name)?.dataPoints[0];
    expect(byName.get('pg_walstream.lag.size')?.descriptor.unit).toBe('By');
    expect(point('pg_walstream.lag.size')?.value).toBe(768);
    expect(point('pg_walstream.lag.size')?.attributes).toEqual({ 'pg_walstream.slot.name': 'app' });
    expect(byName.get('pg_walstream.lag.time')?.descriptor.unit).toBe('s');
    expect(byName.get('pg_walstream.reconnections')?.descriptor.unit).toBe('{reconnection}');
    expect(point('pg_walstream.reconnections')?.value).toBe(1);
    expect(point('pg_walstream.errors')?.attributes).toEqual({ 'pg_walstream.slot.name': 'app', 'error.type': 'PgError', 'db.response.status_code': '57P01' });
    expect(point('pg_walstream.slot.safe_wal_size')?.value).toBe(48 * MiB);
    expect(byName.get('pg_walstream.io')?.descriptor.unit).toBe('By');
    for (const m of metrics) expect(m.descriptor.name).toMatch(/^pg_walstream(\.[a-z_]+)+$/);
    await provider.shutdown();
  });
});

describe('optional dependencies', () => {
  it('the root and pg-walstream/operators load neither prom-client nor @opentelemetry/api', () => {
    const { execFileSync } = require('node:child_process') as typeof import('node:child_process');
    const out = execFileSync(process.execPath, ['-e', "require('./dist/cjs/src/index.js'); require('./dist/cjs/operators/index.js'); require('./dist/cjs/src/metrics/index.js'); console.log(Object.keys(require.cache).filter((k) => /prom-client|@opentelemetry/.test(k)).length)"], { cwd: `${__dirname}/../..` });
    expect(out.toString().trim()).toBe('0');
  });
});
