// pg-walstream/metrics/opentelemetry: needs the optional peer dependency @opentelemetry/api.
import type { Attributes, BatchObservableResult, Meter, Observable as OtelObservable } from '@opentelemetry/api';
import type { Observable, Subscription } from 'rxjs';
import type { ReplicationMetrics, ReplicationMetricsSnapshot } from './replication-metrics';
import type { SlotHealth, WalStatus } from './slot-health';
import type { SlotWarningKind } from './slot-warnings';

const WAL_STATUSES: WalStatus[] = ['reserved', 'extended', 'unreserved', 'lost'];
const WARNING_KINDS: SlotWarningKind[] = ['slot-missing', 'slot-lost', 'wal-unreserved', 'safe-wal-size-low', 'idle-timeout-near', 'conflicting', 'lag-bytes', 'lag-seconds'];
/** The attribute naming the slot on every instrument. */
export const SLOT_ATTRIBUTE = 'pg_walstream.slot.name';

/**
 * Reports streams' {@link ReplicationMetrics} and slots' {@link SlotHealth} through an
 * OpenTelemetry `Meter`, as asynchronous instruments read at each collection. Names and units follow
 * the OpenTelemetry semantic conventions: dotted lowercase names without units, UCUM units (`By`,
 * `s`, `{message}`), `error.type` and `db.response.status_code` on errors, and the slot in
 * `pg_walstream.slot.name`.
 *
 * | instrument | kind | unit |
 * |---|---|---|
 * | `pg_walstream.position.received`, `.flushed`, `.acknowledged`, `.server_wal_end` | gauge | `By` |
 * | `pg_walstream.lag.size` / `pg_walstream.lag.time` | gauge | `By` / `s` |
 * | `pg_walstream.messages`, `pg_walstream.transactions` | counter | `{message}`, `{transaction}` |
 * | `pg_walstream.io` (`network.io.direction` = `receive`) | counter | `By` |
 * | `pg_walstream.flow_control.paused` / `.pause.time` / `.pauses` | gauge / counter / counter | `1` / `s` / `{pause}` |
 * | `pg_walstream.connected` / `pg_walstream.reconnections` / `pg_walstream.errors` | gauge / counter / counter | `1` / `{reconnection}` / `{error}` |
 * | `pg_walstream.slot.exists`, `.active`, `.conflicting`, `.wal_status` (`pg_walstream.slot.wal_status`), `.warnings` (`pg_walstream.slot.warning`) | gauge | `1` |
 * | `pg_walstream.slot.safe_wal_size`, `.restart_lsn.lag`, `.confirmed_flush_lsn.lag` | gauge | `By` |
 * | `pg_walstream.slot.inactive.time` (PostgreSQL 17+) | gauge | `s` |
 *
 * @example
 * const otel = new OpenTelemetryMetrics(metrics.getMeter('pg-walstream'));
 * otel.addStream(streamMetrics).addSlot(slotHealth({ connectionString: url, slot: 'app' }));
 */
export class OpenTelemetryMetrics {
  private readonly streams: ReplicationMetrics[] = [];
  private readonly slots = new Map<string, SlotHealth>();
  private readonly subscriptions: Subscription[] = [];
  private readonly instruments: OtelObservable[] = [];
  private readonly callback: (result: BatchObservableResult) => void;

  constructor(private readonly meter: Meter) {
    const gauge = (name: string, unit: string, description: string) => this.add(meter.createObservableGauge(name, { unit, description }));
    const counter = (name: string, unit: string, description: string) => this.add(meter.createObservableCounter(name, { unit, description }));
    const received = gauge('pg_walstream.position.received', 'By', 'Highest WAL position received');
    const flushed = gauge('pg_walstream.position.flushed', 'By', 'Flushed position of the last standby status update (pg_stat_replication.flush_lsn)');
    const acknowledged = gauge('pg_walstream.position.acknowledged', 'By', 'Position the consumer acknowledged');
    const walEnd = gauge('pg_walstream.position.server_wal_end', 'By', "The server's WAL end");
    const lagSize = gauge('pg_walstream.lag.size', 'By', "WAL between the server's WAL end and the work finished");
    const lagTime = gauge('pg_walstream.lag.time', 's', 'Age of the oldest received and unacknowledged commit');
    const messages = counter('pg_walstream.messages', '{message}', 'XLogData messages received');
    const transactions = counter('pg_walstream.transactions', '{transaction}', 'Transactions received');
    const io = counter('pg_walstream.io', 'By', 'CopyData bytes received');
    const paused = gauge('pg_walstream.flow_control.paused', '1', '1 while flow control has stopped reading');
    const pauseTime = counter('pg_walstream.flow_control.pause.time', 's', 'Time flow control kept reading stopped');
    const pauses = counter('pg_walstream.flow_control.pauses', '{pause}', 'Times flow control stopped reading');
    const connected = gauge('pg_walstream.connected', '1', '1 while the replication connection is up');
    const reconnections = counter('pg_walstream.reconnections', '{reconnection}', 'Connections after the first');
    const errors = counter('pg_walstream.errors', '{error}', 'Errors that ended a stream');
    const exists = gauge('pg_walstream.slot.exists', '1', '1 when the slot exists');
    const active = gauge('pg_walstream.slot.active', '1', '1 while a walsender streams from the slot');
    const walStatus = gauge('pg_walstream.slot.wal_status', '1', 'pg_replication_slots.wal_status: 1 for the current status');
    const safeWal = gauge('pg_walstream.slot.safe_wal_size', 'By', 'pg_replication_slots.safe_wal_size');
    const restartLag = gauge('pg_walstream.slot.restart_lsn.lag', 'By', 'WAL retained for the slot (current WAL position minus restart_lsn)');
    const flushLag = gauge('pg_walstream.slot.confirmed_flush_lsn.lag', 'By', 'Current WAL position minus confirmed_flush_lsn');
    const inactive = gauge('pg_walstream.slot.inactive.time', 's', 'Time since pg_replication_slots.inactive_since (PostgreSQL 17+)');
    const conflicting = gauge('pg_walstream.slot.conflicting', '1', 'pg_replication_slots.conflicting (PostgreSQL 16+)');
    const warnings = gauge('pg_walstream.slot.warnings', '1', '1 while a warning about the slot holds');

    this.callback = (r) => {
      for (const m of this.streams) {
        const s: ReplicationMetricsSnapshot = m.snapshot();
        const a: Attributes = { [SLOT_ATTRIBUTE]: s.slot ?? '' };
        r.observe(received, Number(s.receivedLsn.value), a);
        r.observe(flushed, Number(s.flushedLsn.value), a);
        r.observe(acknowledged, Number(s.acknowledgedLsn.value), a);
        r.observe(walEnd, Number(s.serverWalEnd.value), a);
        r.observe(lagSize, s.lagBytes, a);
        r.observe(lagTime, s.lagSeconds, a);
        r.observe(messages, s.messages, a);
        r.observe(transactions, s.transactions, a);
        r.observe(io, s.bytes, { ...a, 'network.io.direction': 'receive' });
        r.observe(paused, s.paused ? 1 : 0, a);
        r.observe(pauseTime, s.pausedSeconds, a);
        r.observe(pauses, s.pauses, a);
        r.observe(connected, s.connected ? 1 : 0, a);
        r.observe(reconnections, s.reconnections, a);
        for (const { error, count } of s.errorsByKind.values()) {
          r.observe(errors, count, { ...a, 'error.type': error.type, ...(error.code === undefined ? {} : { 'db.response.status_code': error.code }) });
        }
      }
      const now = Date.now();
      for (const h of this.slots.values()) {
        const a: Attributes = { [SLOT_ATTRIBUTE]: h.slot };
        r.observe(exists, h.exists ? 1 : 0, a);
        if (!h.exists) continue;
        r.observe(active, h.active ? 1 : 0, a);
        if (h.walStatus !== null) for (const st of WAL_STATUSES) r.observe(walStatus, h.walStatus === st ? 1 : 0, { ...a, 'pg_walstream.slot.wal_status': st });
        if (h.safeWalSize !== null) r.observe(safeWal, h.safeWalSize, a);
        if (h.restartLagBytes !== null) r.observe(restartLag, h.restartLagBytes, a);
        if (h.confirmedFlushLagBytes !== null) r.observe(flushLag, h.confirmedFlushLagBytes, a);
        if (h.inactiveSince !== null && !h.active) r.observe(inactive, Math.max(0, (now - h.inactiveSince.getTime()) / 1000), a);
        if (h.conflicting !== null) r.observe(conflicting, h.conflicting ? 1 : 0, a);
        for (const kind of WARNING_KINDS) r.observe(warnings, h.warnings.some((w) => w.kind === kind) ? 1 : 0, { ...a, 'pg_walstream.slot.warning': kind });
      }
    };
    meter.addBatchObservableCallback(this.callback, this.instruments);
  }

  /** Reports a stream's metrics, with its slot as `pg_walstream.slot.name`. */
  addStream(metrics: ReplicationMetrics): this {
    this.streams.push(metrics);
    return this;
  }

  /** Subscribes to a slot's health (e.g. `slotHealth(...)`) and reports the latest reading; {@link close} unsubscribes. */
  addSlot(health: Observable<SlotHealth>): this {
    this.subscriptions.push(health.subscribe((h) => this.slots.set(h.slot, h)));
    return this;
  }

  /** Stops reporting and unsubscribes from the slots. */
  close(): void {
    this.meter.removeBatchObservableCallback(this.callback, this.instruments);
    for (const s of this.subscriptions.splice(0)) s.unsubscribe();
  }

  private add<T extends OtelObservable>(instrument: T): T {
    this.instruments.push(instrument);
    return instrument;
  }
}
