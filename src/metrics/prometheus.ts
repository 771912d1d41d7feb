// pg-walstream/metrics/prometheus: needs the optional peer dependency prom-client.
import { Counter, Gauge, type Registry, register as globalRegistry } from 'prom-client';
import type { Observable, Subscription } from 'rxjs';
import type { ReplicationMetrics, ReplicationMetricsSnapshot } from './replication-metrics';
import type { SlotHealth, WalStatus } from './slot-health';
import type { SlotWarningKind } from './slot-warnings';

/** Options of {@link PrometheusMetrics}. */
export interface PrometheusMetricsOptions {
  /** Where to register. Default: prom-client's global `register`. */
  registry?: Registry;
  /** Prefix of every metric name. Default `pg_walstream_`. */
  prefix?: string;
}

const WAL_STATUSES: WalStatus[] = ['reserved', 'extended', 'unreserved', 'lost'];
const WARNING_KINDS: SlotWarningKind[] = ['slot-missing', 'slot-lost', 'wal-unreserved', 'safe-wal-size-low', 'idle-timeout-near', 'conflicting', 'lag-bytes', 'lag-seconds'];

type Snapshot = ReplicationMetricsSnapshot;

/**
 * Exposes streams' {@link ReplicationMetrics} and slots' {@link SlotHealth} as Prometheus metrics
 * through prom-client, read at scrape time. Names follow Prometheus conventions: base units in the
 * name (`_bytes`, `_seconds`), `_total` for counters, one `slot` label. Rates are left to PromQL
 * (`rate(pg_walstream_transactions_total[1m])`), as the conventions ask of counters.
 *
 * | metric | type | what |
 * |---|---|---|
 * | `pg_walstream_received_lsn_bytes`, `_flushed_lsn_bytes`, `_acknowledged_lsn_bytes`, `_server_wal_end_lsn_bytes` | gauge | positions, as byte offsets in the WAL |
 * | `pg_walstream_lag_bytes`, `pg_walstream_lag_seconds` | gauge | WAL end minus finished work; age of the oldest unacknowledged commit |
 * | `pg_walstream_messages_total`, `_transactions_total`, `_received_bytes_total` | counter | throughput |
 * | `pg_walstream_flow_control_paused`, `_flow_control_paused_seconds_total`, `_flow_control_pauses_total` | gauge, counters | flow control |
 * | `pg_walstream_connected`, `pg_walstream_reconnections_total`, `pg_walstream_errors_total{error,code}`, `pg_walstream_last_error_timestamp_seconds` | | connections and errors |
 * | `pg_walstream_slot_exists`, `_slot_active`, `_slot_wal_status{status}`, `_slot_safe_wal_size_bytes`, `_slot_restart_lsn_lag_bytes`, `_slot_confirmed_flush_lsn_lag_bytes`, `_slot_inactive_since_timestamp_seconds`, `_slot_conflicting`, `_slot_warning{warning}` | gauge | slot health |
 *
 * @example
 * const prom = new PrometheusMetrics({ registry });
 * prom.addStream(metrics);
 * prom.addSlot(slotHealth({ connectionString: url, slot: 'app', metrics }));
 * http.createServer(async (req, res) => res.end(await registry.metrics())).listen(9187);
 */
export class PrometheusMetrics {
  private readonly streams: ReplicationMetrics[] = [];
  private readonly slots = new Map<string, SlotHealth>();
  private readonly subscriptions: Subscription[] = [];
  readonly registry: Registry;

  constructor(options: PrometheusMetricsOptions = {}) {
    const registry = options.registry ?? globalRegistry;
    this.registry = registry;
    const p = options.prefix ?? 'pg_walstream_';
    const snapshots = () => this.streams.map((m) => m.snapshot());
    const lsn = (l: { value: bigint }) => Number(l.value);

    const streamGauge = (name: string, help: string, value: (s: Snapshot) => number | undefined) =>
      new Gauge({
        name: p + name,
        help,
        labelNames: ['slot'],
        registers: [registry],
        collect() {
          this.reset();
          for (const s of snapshots()) {
            const v = value(s);
            if (v !== undefined) this.set({ slot: s.slot ?? '' }, v);
          }
        },
      });
    // Counters only go up: each scrape adds what the stream counted since the previous one.
    const streamCounter = (name: string, help: string, value: (s: Snapshot) => number) => {
      const seen = new Map<ReplicationMetrics, number>();
      const streams = this.streams;
      return new Counter({
        name: p + name,
        help,
        labelNames: ['slot'],
        registers: [registry],
        collect() {
          for (const m of streams) {
            const s = m.snapshot();
            const v = value(s);
            const before = seen.get(m) ?? 0;
            this.inc({ slot: s.slot ?? '' }, Math.max(0, v - before));
            seen.set(m, Math.max(v, before));
          }
        },
      });
    };
    const slotGauge = (name: string, help: string, value: (h: SlotHealth) => number | null, extra: (h: SlotHealth, set: (labels: Record<string, string>, v: number) => void) => void = () => {}) => {
      const slots = this.slots;
      return new Gauge({
        name: p + name,
        help,
        labelNames: name === 'slot_wal_status' ? ['slot', 'status'] : name === 'slot_warning' ? ['slot', 'warning'] : ['slot'],
        registers: [registry],
        collect() {
          this.reset();
          for (const h of slots.values()) {
            const v = value(h);
            if (v !== null) this.set({ slot: h.slot }, v);
            extra(h, (labels, x) => this.set({ slot: h.slot, ...labels }, x));
          }
        },
      });
    };

    streamGauge('received_lsn_bytes', 'Highest WAL position received, as a byte offset.', (s) => lsn(s.receivedLsn));
    streamGauge('flushed_lsn_bytes', 'Flushed position of the last standby status update (pg_stat_replication.flush_lsn), as a byte offset.', (s) => lsn(s.flushedLsn));
    streamGauge('acknowledged_lsn_bytes', 'Position the consumer acknowledged, as a byte offset.', (s) => lsn(s.acknowledgedLsn));
    streamGauge('server_wal_end_lsn_bytes', "The server's WAL end (keepalives, XLogData, pg_current_wal_lsn), as a byte offset.", (s) => lsn(s.serverWalEnd));
    streamGauge('lag_bytes', "Bytes of WAL between the server's WAL end and the work finished.", (s) => s.lagBytes);
    streamGauge('lag_seconds', 'Age of the oldest received and unacknowledged commit, in seconds (0 when caught up).', (s) => s.lagSeconds);
    streamGauge('flow_control_paused', '1 while flow control has stopped reading.', (s) => (s.paused ? 1 : 0));
    streamGauge('connected', '1 while the replication connection is up.', (s) => (s.connected ? 1 : 0));
    streamGauge('last_error_timestamp_seconds', 'When the last error ended a stream, in seconds since the Unix epoch.', (s) => (s.lastError === undefined ? undefined : s.lastError.at / 1000));
    streamCounter('messages_total', 'XLogData messages received.', (s) => s.messages);
    streamCounter('transactions_total', 'Transactions received (commits and rolled-back prepared transactions).', (s) => s.transactions);
    streamCounter('received_bytes_total', 'CopyData bytes received.', (s) => s.bytes);
    streamCounter('flow_control_paused_seconds_total', 'Seconds flow control kept reading stopped.', (s) => s.pausedSeconds);
    streamCounter('flow_control_pauses_total', 'Times flow control stopped reading.', (s) => s.pauses);
    streamCounter('reconnections_total', 'Connections after the first.', (s) => s.reconnections);
    const errorsSeen = new Map<string, number>();
    const streams = this.streams;
    new Counter({
      name: p + 'errors_total',
      help: 'Errors that ended a stream, by error class and SQLSTATE or system code.',
      labelNames: ['slot', 'error', 'code'],
      registers: [registry],
      collect() {
        for (const m of streams) {
          const s = m.snapshot();
          for (const [key, { error, count }] of s.errorsByKind) {
            const id = `${s.slot ?? ''}\u0000${key}`;
            const before = errorsSeen.get(id) ?? 0;
            if (count > before) this.inc({ slot: s.slot ?? '', error: error.type, code: error.code ?? '' }, count - before);
            errorsSeen.set(id, Math.max(count, before));
          }
        }
      },
    });

    slotGauge('slot_exists', '1 when the slot exists.', (h) => (h.exists ? 1 : 0));
    slotGauge('slot_active', '1 while a walsender streams from the slot.', (h) => (h.exists ? (h.active ? 1 : 0) : null));
    slotGauge('slot_wal_status', 'pg_replication_slots.wal_status: 1 for the current status.', () => null, (h, set) => {
      if (h.walStatus !== null) for (const st of WAL_STATUSES) set({ status: st }, h.walStatus === st ? 1 : 0);
    });
    slotGauge('slot_safe_wal_size_bytes', 'pg_replication_slots.safe_wal_size: bytes that can still be written before the slot is at risk.', (h) => h.safeWalSize);
    slotGauge('slot_restart_lsn_lag_bytes', 'Bytes of WAL retained for the slot (current WAL position minus restart_lsn).', (h) => h.restartLagBytes);
    slotGauge('slot_confirmed_flush_lsn_lag_bytes', 'Current WAL position minus confirmed_flush_lsn.', (h) => h.confirmedFlushLagBytes);
    slotGauge('slot_inactive_since_timestamp_seconds', 'pg_replication_slots.inactive_since (PostgreSQL 17+), in seconds since the Unix epoch.', (h) => (h.inactiveSince === null ? null : h.inactiveSince.getTime() / 1000));
    slotGauge('slot_conflicting', 'pg_replication_slots.conflicting (PostgreSQL 16+).', (h) => (h.conflicting === null ? null : h.conflicting ? 1 : 0));
    slotGauge('slot_warning', '1 while a warning about the slot holds.', () => null, (h, set) => {
      for (const kind of WARNING_KINDS) set({ warning: kind }, h.warnings.some((w) => w.kind === kind) ? 1 : 0);
    });
  }

  /** Exports a stream's metrics, labelled with its slot. */
  addStream(metrics: ReplicationMetrics): this {
    this.streams.push(metrics);
    return this;
  }

  /** Subscribes to a slot's health (e.g. `slotHealth(...)`) and exports the latest reading; {@link close} unsubscribes. */
  addSlot(health: Observable<SlotHealth>): this {
    this.subscriptions.push(health.subscribe((h) => this.slots.set(h.slot, h)));
    return this;
  }

  /** Stops the slot subscriptions (the metrics stay registered). */
  close(): void {
    for (const s of this.subscriptions.splice(0)) s.unsubscribe();
  }
}
