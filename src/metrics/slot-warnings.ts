import type { SlotHealth } from './slot-health';

/** Why a slot is at risk, or lost. */
export type SlotWarningKind =
  /** No slot of that name: dropped, or never created. */
  | 'slot-missing'
  /** The server invalidated the slot (`wal_status` = lost, or `invalidation_reason` set on 17+): it can no longer stream. */
  | 'slot-lost'
  /** `wal_status` = unreserved: WAL the slot needs is past `max_slot_wal_keep_size`; the next checkpoint may remove it. */
  | 'wal-unreserved'
  /** `safe_wal_size` is below `safeWalSizeFraction` of `max_slot_wal_keep_size`. */
  | 'safe-wal-size-low'
  /** The slot has been inactive for more than `idleTimeoutFraction` of `idle_replication_slot_timeout` (PostgreSQL 18+). */
  | 'idle-timeout-near'
  /** A logical slot on a standby conflicts with recovery and is invalidated (PostgreSQL 16+). */
  | 'conflicting'
  /** WAL retained for the slot (`pg_current_wal_lsn() - restart_lsn`) reached the `lagBytes` threshold. */
  | 'lag-bytes'
  /** The stream's lag from commit time reached the `lagSeconds` threshold. */
  | 'lag-seconds';

/** One warning about a slot, as logged and exported. */
export interface SlotWarning {
  readonly kind: SlotWarningKind;
  /** `error` once the slot is lost or gone; `warn` before. */
  readonly severity: 'warn' | 'error';
  readonly message: string;
}

/** When to warn. Each threshold is off when undefined. */
export interface SlotWarningThresholds {
  /** Bytes of WAL retained for the slot at which to warn. Default: off. */
  lagBytes?: number;
  /** Seconds of lag from commit time (from the stream's metrics) at which to warn. Default: off. */
  lagSeconds?: number;
  /** Warn when `safe_wal_size` falls below this fraction of `max_slot_wal_keep_size`. Default 0.2; 0 turns it off. */
  safeWalSizeFraction?: number;
  /** Warn when an inactive slot has been idle this fraction of `idle_replication_slot_timeout` (PostgreSQL 18+). Default 0.5; 0 turns it off. */
  idleTimeoutFraction?: number;
}

const MiB = 1024 * 1024;

/**
 * The warnings a slot's health calls for, most severe first. Pure: the poller calls it on each
 * reading, and logs only the warnings that appear or clear.
 * `lagSeconds` is the stream's lag from commit time when a `ReplicationMetrics` is attached.
 *
 * @example
 * slotWarnings(health, { lagBytes: 1 << 30 }).map((w) => w.message);
 */
export function slotWarnings(health: Omit<SlotHealth, 'warnings'>, thresholds: SlotWarningThresholds = {}, lagSeconds?: number): SlotWarning[] {
  const name = health.slot;
  if (!health.exists) return [{ kind: 'slot-missing', severity: 'error', message: `replication slot "${name}" does not exist` }];
  const out: SlotWarning[] = [];
  if (health.walStatus === 'lost' || health.invalidationReason != null) {
    const reason = health.invalidationReason == null ? 'its WAL was removed' : `invalidation_reason = ${health.invalidationReason}`;
    out.push({ kind: 'slot-lost', severity: 'error', message: `replication slot "${name}" is lost (${reason}); it must be dropped and recreated, and the changes in between are not streamed` });
  }
  if (health.conflicting === true) {
    out.push({ kind: 'conflicting', severity: 'error', message: `replication slot "${name}" conflicts with recovery and is invalidated` });
  }
  if (health.walStatus === 'unreserved') {
    out.push({ kind: 'wal-unreserved', severity: 'warn', message: `replication slot "${name}" needs WAL beyond max_slot_wal_keep_size: the next checkpoint may remove it and lose the slot` });
  }
  const safeFraction = thresholds.safeWalSizeFraction ?? 0.2;
  const keep = health.maxSlotWalKeepSize;
  if (safeFraction > 0 && keep != null && health.safeWalSize != null && health.walStatus !== 'lost' && health.walStatus !== 'unreserved' && health.safeWalSize < keep * safeFraction) {
    out.push({
      kind: 'safe-wal-size-low',
      severity: 'warn',
      message: `replication slot "${name}" can fall ${Math.round(health.safeWalSize / MiB)} MiB further behind before it is lost (safe_wal_size; max_slot_wal_keep_size = ${Math.round(keep / MiB)} MiB)`,
    });
  }
  const idleFraction = thresholds.idleTimeoutFraction ?? 0.5;
  const timeout = health.idleReplicationSlotTimeout;
  if (idleFraction > 0 && timeout != null && timeout > 0 && !health.active && health.inactiveSince != null) {
    const idle = (health.at - health.inactiveSince.getTime()) / 1000;
    if (idle >= timeout * idleFraction) {
      out.push({
        kind: 'idle-timeout-near',
        severity: 'warn',
        message: `replication slot "${name}" has been inactive for ${Math.round(idle)} s; idle_replication_slot_timeout invalidates it after ${timeout} s, at a checkpoint`,
      });
    }
  }
  if (thresholds.lagBytes !== undefined && health.restartLagBytes != null && health.restartLagBytes >= thresholds.lagBytes) {
    out.push({ kind: 'lag-bytes', severity: 'warn', message: `replication slot "${name}" retains ${Math.round(health.restartLagBytes / MiB)} MiB of WAL (threshold ${Math.round(thresholds.lagBytes / MiB)} MiB)` });
  }
  if (thresholds.lagSeconds !== undefined && lagSeconds !== undefined && lagSeconds >= thresholds.lagSeconds) {
    out.push({ kind: 'lag-seconds', severity: 'warn', message: `replication slot "${name}" is ${Math.round(lagSeconds)} s behind commit time (threshold ${thresholds.lagSeconds} s)` });
  }
  return out;
}
