import { Observable } from 'rxjs';
import { type Logger, loggedError } from '../logger';
import { Lsn } from '../lsn';
import { quoteLiteral } from '../sql';
import { type ConnectionOptions, resolveConfig } from '../wire/config';
import { PgConnection } from '../wire/connection';
import { describeTarget } from '../wire/tls';
import type { ReplicationMetrics } from './replication-metrics';
import { type SlotWarning, type SlotWarningThresholds, slotWarnings } from './slot-warnings';

/** `pg_replication_slots.wal_status`. */
export type WalStatus = 'reserved' | 'extended' | 'unreserved' | 'lost';

/** One reading of a slot from `pg_replication_slots`; `null` where the server has no such column or value. */
export interface SlotHealth {
  /** When the reading was taken, ms since the Unix epoch (local clock). */
  readonly at: number;
  readonly slot: string;
  /** False when no slot has that name (then every slot field is null). */
  readonly exists: boolean;
  /** `server_version_num`, e.g. 180001. */
  readonly serverVersion: number;
  readonly slotType: 'logical' | 'physical' | null;
  /** A walsender streams from the slot right now. */
  readonly active: boolean;
  readonly activePid: number | null;
  /** The oldest WAL the slot retains. */
  readonly restartLsn: Lsn | null;
  /** Logical slots: what the consumer confirmed. */
  readonly confirmedFlushLsn: Lsn | null;
  /** `pg_current_wal_lsn()` (on a standby, `pg_last_wal_receive_lsn()`). */
  readonly currentWalLsn: Lsn | null;
  /** Bytes of WAL retained for the slot: `currentWalLsn - restartLsn`. */
  readonly restartLagBytes: number | null;
  /** Bytes between `currentWalLsn` and `confirmedFlushLsn` (logical slots). */
  readonly confirmedFlushLagBytes: number | null;
  readonly walStatus: WalStatus | null;
  /** Bytes of WAL that can still be written before the slot is at risk; null when `max_slot_wal_keep_size` is -1 (unlimited). */
  readonly safeWalSize: number | null;
  /** Since when the slot has been inactive (PostgreSQL 17+). */
  readonly inactiveSince: Date | null;
  /** A logical slot on a standby that conflicts with recovery (PostgreSQL 16+). */
  readonly conflicting: boolean | null;
  /** Why the server invalidated the slot (PostgreSQL 17+): `wal_removed`, `rows_removed`, `wal_level_insufficient`, `idle_timeout` (18+). */
  readonly invalidationReason: string | null;
  /** `max_slot_wal_keep_size` in bytes; null when -1 (unlimited). */
  readonly maxSlotWalKeepSize: number | null;
  /** `idle_replication_slot_timeout` in seconds (PostgreSQL 18+); null before 18, 0 when off. */
  readonly idleReplicationSlotTimeout: number | null;
  /** What is at risk now, most severe first; see {@link slotWarnings}. */
  readonly warnings: readonly SlotWarning[];
}

/** Options of {@link slotHealth}. */
export interface SlotHealthOptions extends ConnectionOptions {
  slot: string;
  /** Milliseconds between readings. Default 10000. */
  interval?: number;
  /** When to warn. */
  thresholds?: SlotWarningThresholds;
  /**
   * The stream's metrics: they receive `pg_current_wal_lsn()` as the server's WAL end (a paused
   * logical stream sees no keepalives), and give the lag from commit time for `thresholds.lagSeconds`.
   */
  metrics?: ReplicationMetrics;
  /** Logs warnings when they appear (warn, or error once the slot is lost), when they clear (info), and failed readings (warn). */
  logger?: Logger;
}

/** The query for a server version: columns a version lacks read as NULL. The slot may be missing, so the slot view is left-joined. */
export function slotHealthQuery(slot: string, serverVersion: number): string {
  const v17 = serverVersion >= 170000;
  return [
    'SELECT s.slot_name IS NOT NULL AS found, s.slot_type, s.active, s.active_pid, s.restart_lsn, s.confirmed_flush_lsn,',
    '  s.wal_status, s.safe_wal_size,',
    `  ${v17 ? 'extract(epoch FROM s.inactive_since)' : 'NULL'} AS inactive_since,`,
    `  ${serverVersion >= 160000 ? 's.conflicting' : 'NULL'} AS conflicting,`,
    `  ${v17 ? 's.invalidation_reason' : 'NULL'} AS invalidation_reason,`,
    '  CASE WHEN pg_is_in_recovery() THEN pg_last_wal_receive_lsn() ELSE pg_current_wal_lsn() END AS current_lsn,',
    "  pg_size_bytes(current_setting('max_slot_wal_keep_size')) AS max_slot_wal_keep_size,",
    `  ${serverVersion >= 180000 ? "current_setting('idle_replication_slot_timeout', true)" : 'NULL'} AS idle_timeout`,
    `FROM (SELECT 1) AS one LEFT JOIN pg_replication_slots s ON s.slot_name = ${quoteLiteral(slot)}`,
  ].join('\n');
}

/**
 * Polls a slot's health from `pg_replication_slots` on a regular (non-replication) connection:
 * a cold Observable that connects on subscribe, emits a {@link SlotHealth} at once and every
 * `interval` ms, and closes the connection on unsubscribe. Readings that fail (server restart,
 * network) are logged and retried at the next interval with a new connection, so monitoring
 * outlives the outages it should report; the Observable itself never errors.
 * Columns follow the server version: `wal_status` and `safe_wal_size` (13+), `conflicting` (16+),
 * `inactive_since` and `invalidation_reason` (17+), `idle_replication_slot_timeout` (18+).
 * Source: "pg_replication_slots" in the PostgreSQL documentation's System Views.
 *
 * The role needs to read `pg_replication_slots` (any role can) and call `pg_current_wal_lsn()`.
 *
 * @example
 * slotHealth({ connectionString: url, slot: 'app', thresholds: { lagBytes: 1 << 30 }, logger })
 *   .subscribe((h) => h.warnings.length && alert(h.warnings));
 */
export function slotHealth(options: SlotHealthOptions): Observable<SlotHealth> {
  return new Observable<SlotHealth>((subscriber) => {
    const config = resolveConfig(options);
    const interval = options.interval ?? 10_000;
    const logger = options.logger;
    let conn: PgConnection | undefined;
    let timer: NodeJS.Timeout | undefined;
    let stopped = false;
    let warned = new Map<SlotWarning['kind'], SlotWarning>();

    const read = async (): Promise<SlotHealth> => {
      if (conn === undefined || conn.isClosed) conn = await PgConnection.connect(config);
      const [result] = await conn.query(slotHealthQuery(options.slot, conn.serverVersionNum));
      const row = result?.rows[0] ?? [];
      const at = Date.now();
      const col = (name: string) => row[result!.fields.indexOf(name)] ?? null;
      const lsn = (name: string) => (col(name) === null ? null : Lsn.parse(col(name)!));
      const num = (name: string) => (col(name) === null ? null : Number(col(name)));
      const current = lsn('current_lsn');
      const restart = lsn('restart_lsn');
      const confirmed = lsn('confirmed_flush_lsn');
      const diff = (a: Lsn | null, b: Lsn | null) => (a === null || b === null ? null : Math.max(0, Number(a.value - b.value)));
      const keep = num('max_slot_wal_keep_size');
      const idle = col('idle_timeout');
      const inactive = num('inactive_since');
      const health: Omit<SlotHealth, 'warnings'> = {
        at,
        slot: options.slot,
        exists: col('found') === 't',
        serverVersion: conn.serverVersionNum,
        slotType: col('slot_type') as SlotHealth['slotType'],
        active: col('active') === 't',
        activePid: num('active_pid'),
        restartLsn: restart,
        confirmedFlushLsn: confirmed,
        currentWalLsn: current,
        restartLagBytes: diff(current, restart),
        confirmedFlushLagBytes: diff(current, confirmed),
        walStatus: col('wal_status') as WalStatus | null,
        safeWalSize: num('safe_wal_size'),
        inactiveSince: inactive === null ? null : new Date(inactive * 1000),
        conflicting: col('conflicting') === null ? null : col('conflicting') === 't',
        invalidationReason: col('invalidation_reason'),
        maxSlotWalKeepSize: keep === null || keep < 0 ? null : keep,
        idleReplicationSlotTimeout: idle === null ? null : parseSeconds(idle),
      };
      if (current !== null) options.metrics?.serverWalPosition(current);
      const lagSeconds = options.metrics?.snapshot().lagSeconds;
      return { ...health, warnings: slotWarnings(health, options.thresholds, lagSeconds) };
    };

    const report = (health: SlotHealth) => {
      if (logger === undefined) return;
      const now = new Map(health.warnings.map((w) => [w.kind, w]));
      for (const w of health.warnings) {
        if (warned.has(w.kind)) continue;
        const fields = { slot: health.slot, warning: w.kind, walStatus: health.walStatus, safeWalSize: health.safeWalSize, restartLagBytes: health.restartLagBytes };
        if (w.severity === 'error') logger.error(fields, w.message);
        else logger.warn(fields, w.message);
      }
      for (const kind of warned.keys()) if (!now.has(kind)) logger.info({ slot: health.slot, warning: kind }, `replication slot "${health.slot}": ${kind} cleared`);
      warned = now;
    };

    const closeLate = () => {
      // Also after unsubscribing while a reading was under way: it may have opened a connection.
      const c = conn;
      conn = undefined;
      c?.end().catch(() => c.destroy());
    };

    const poll = async () => {
      timer = undefined;
      try {
        const health = await read();
        if (stopped) return closeLate();
        report(health);
        subscriber.next(health);
      } catch (err) {
        if (stopped) return closeLate();
        conn?.destroy();
        conn = undefined;
        logger?.warn({ slot: options.slot, target: describeTarget(config), err: loggedError(err) }, 'could not read the replication slot\'s health');
      }
      if (!stopped) timer = setTimeout(() => void poll(), interval);
    };

    void poll();
    return () => {
      stopped = true;
      if (timer !== undefined) clearTimeout(timer);
      closeLate();
    };
  });
}

const SECONDS: Record<string, number> = { ms: 0.001, s: 1, min: 60, h: 3600, d: 86_400 };

/** `current_setting()` of a time setting (`0`, `30s`, `10min`, `1d`) in seconds. */
function parseSeconds(text: string): number | null {
  const m = /^(\d+)\s*(ms|s|min|h|d)?$/.exec(text.trim());
  return m === null ? null : Number(m[1]) * (SECONDS[m[2] ?? 's'] ?? 1);
}
