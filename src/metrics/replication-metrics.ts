import { type Observable, map, timer } from 'rxjs';
import { type LoggedError, loggedError } from '../logger';
import { Lsn } from '../lsn';
import type { ReplicationFrame } from '../protocol/frames';
import type { LsnFeedback } from '../source/feedback';
import type { ReplicationObserver, SourceConnected } from '../source/observer';
import { pgTimestampToDate } from '../time';
import { TAG_COMMIT, TAG_COMMIT_PREPARED, TAG_PREPARE, TAG_ROLLBACK_PREPARED, TAG_STREAM_COMMIT, TAG_STREAM_PREPARE } from '../pgoutput/tags';

/** One reading of a stream's metrics; LSNs as `Lsn`, everything else as plain numbers. */
export interface ReplicationMetricsSnapshot {
  /** When the reading was taken, ms since the Unix epoch. */
  readonly at: number;
  readonly kind?: 'logical' | 'physical';
  readonly slot?: string;
  /** Between a connection and its error or end. */
  readonly connected: boolean;
  /** Highest WAL position received: a logical frame's record LSN, the end of a physical frame's WAL, or the `written` position last reported. */
  readonly receivedLsn: Lsn;
  /** The `flushed` position of the last standby status update: `pg_stat_replication.flush_lsn`, and the slot's `confirmed_flush_lsn` (logical) or `restart_lsn` (physical). */
  readonly flushedLsn: Lsn;
  /** `feedback.acknowledged`: work the consumer finished, reported at the next status update. */
  readonly acknowledgedLsn: Lsn;
  /** The server's WAL end: primary keepalives, physical XLogData headers, and `pg_current_wal_lsn()` when a slot monitor feeds it. */
  readonly serverWalEnd: Lsn;
  /** Bytes of WAL between `serverWalEnd` and the higher of `flushedLsn` and `acknowledgedLsn`; 0 once caught up. */
  readonly lagBytes: number;
  /**
   * Seconds since the commit (logical; server clock) or the sending (physical) of the oldest
   * received data not acknowledged yet; 0 when everything received is acknowledged.
   */
  readonly lagSeconds: number;
  /** XLogData frames received: pgoutput messages (logical) or WAL chunks (physical). */
  readonly messages: number;
  /** Transactions received that ended: Commit, Stream Commit, Commit Prepared, Rollback Prepared. */
  readonly transactions: number;
  /** CopyData bytes received, frame headers and keepalives included. */
  readonly bytes: number;
  /** Rates over the last `rateWindow` ms, or since the previous reading when readings are further apart. */
  readonly messagesPerSecond: number;
  readonly transactionsPerSecond: number;
  readonly bytesPerSecond: number;
  /** Flow control has stopped reading right now. */
  readonly paused: boolean;
  /** Total seconds flow control kept reading stopped, the current pause included. */
  readonly pausedSeconds: number;
  /** How many times flow control stopped reading. */
  readonly pauses: number;
  /** Connections made; `reconnections` is every one after the first. */
  readonly connections: number;
  readonly reconnections: number;
  /** Errors that ended a stream, counted by `type` and `code`. */
  readonly errors: number;
  readonly errorsByKind: ReadonlyMap<string, { error: LoggedError; count: number }>;
  /** The last such error, with when it happened (ms since the Unix epoch). */
  readonly lastError?: LoggedError & { at: number };
}

/** Options of {@link ReplicationMetrics}. */
export interface ReplicationMetricsOptions {
  /** Milliseconds over which the per-second rates are averaged. Default 10000. */
  rateWindow?: number;
  /** The slot, for labels before the first connection. */
  slot?: string;
  /** Clock, ms since the Unix epoch. Default `Date.now`. */
  now?: () => number;
}

interface Pending {
  /** Done once the acknowledged LSN reaches this. */
  lsn: bigint;
  /** Commit or send time, ms since the Unix epoch. */
  at: number;
}

interface Sample {
  at: number;
  messages: number;
  transactions: number;
  bytes: number;
}

const MAX_PENDING = 100_000;
const SAMPLE_EVERY_MS = 1000;

/**
 * Stream metrics of one replication source: LSNs, lag, throughput, flow-control pauses,
 * reconnections and errors. Pass it as the source's `observer`; read it with {@link snapshot} or
 * {@link snapshots}, or export it with `pg-walstream/metrics/prometheus` or `/opentelemetry`.
 * Keep one per source: it survives resubscriptions (`retryWithBackoff`) and counts them.
 *
 * Lag in seconds comes from the commit times in pgoutput's Commit, Stream Commit, Prepare and
 * Commit/Rollback Prepared messages (server clock, so clock skew adds to it), and from XLogData
 * send times on a physical stream. Transactions received faster than 1 ms apart share one
 * entry, and beyond 100,000 unacknowledged entries the newest ones merge, so a deep backlog reads
 * a little older than it is, never younger.
 *
 * @example
 * const metrics = new ReplicationMetrics();
 * logicalReplication({ connectionString: url, slot: 'app', publications: 'app', feedback, observer: metrics })
 *   .pipe(parsePgoutput(), bufferTransaction(), retryWithBackoff(), concatMap(handle), ackOnCommit(feedback))
 *   .subscribe();
 * metrics.snapshots(5000).subscribe((m) => console.log(m.lagBytes, m.lagSeconds, m.transactionsPerSecond));
 */
export class ReplicationMetrics implements ReplicationObserver {
  private readonly rateWindow: number;
  private readonly now: () => number;
  private kind?: 'logical' | 'physical';
  private slot?: string;
  private feedback?: LsnFeedback;
  private isConnected = false;
  private received = 0n;
  private flushed = 0n;
  private walEnd = 0n;
  private messages = 0;
  private transactions = 0;
  private bytes = 0;
  private pendingQueue: Pending[] = [];
  private pendingHead = 0;
  private isPaused = false;
  private pausedSince = 0;
  private pausedMs = 0;
  private pauses = 0;
  private connections = 0;
  private errors = 0;
  private readonly errorsByKind = new Map<string, { error: LoggedError; count: number }>();
  private lastError?: LoggedError & { at: number };
  private samples: Sample[];

  constructor(options: ReplicationMetricsOptions = {}) {
    this.rateWindow = options.rateWindow ?? 10_000;
    this.now = options.now ?? Date.now;
    this.slot = options.slot;
    this.samples = [{ at: this.now(), messages: 0, transactions: 0, bytes: 0 }];
  }

  connected(info: SourceConnected): void {
    this.kind = info.kind;
    this.slot = info.slot ?? this.slot;
    this.feedback = info.feedback;
    this.connections++;
    this.isConnected = true;
    // A new connection starts reading: a pause of the previous one is over.
    if (this.isPaused) this.resumed();
  }

  frame(frame: ReplicationFrame, bytes: number): void {
    this.bytes += bytes;
    if (frame.type === 'keepalive') {
      if (frame.walEnd.value > this.walEnd) this.walEnd = frame.walEnd.value;
      return;
    }
    this.messages++;
    const data = frame.data;
    if (this.kind === 'physical') {
      const end = frame.walStart.value + BigInt(data.length);
      if (end > this.received) this.received = end;
      if (frame.walEnd.value > this.walEnd) this.walEnd = frame.walEnd.value;
      this.addPending(end, pgTimeToMs(frame.sendTime));
      return;
    }
    // A logical XLogData's walEnd is its record's LSN, like walStart: the WAL end comes from
    // keepalives, and snapshot() never lets it fall below what was received.
    const start = frame.walStart.value;
    if (start > this.received) this.received = start;
    const offset = data.length > 0 ? COMMIT_TIME_OFFSET[data[0]] : 0;
    if (offset === 0 || data.length < offset + 8) return;
    if (data[0] !== TAG_PREPARE && data[0] !== TAG_STREAM_PREPARE) this.transactions++;
    // Sent at the record's end LSN, which is what the consumer acknowledges (as in FlowWindow).
    this.addPending(start, pgTimeToMs(data.readBigInt64BE(offset)));
  }

  statusSent(written: Lsn, flushed: Lsn): void {
    if (written.value > this.received) this.received = written.value;
    if (flushed.value > this.flushed) this.flushed = flushed.value;
  }

  paused(): void {
    if (this.isPaused) return;
    this.isPaused = true;
    this.pausedSince = this.now();
    this.pauses++;
  }

  resumed(): void {
    if (!this.isPaused) return;
    this.isPaused = false;
    this.pausedMs += this.now() - this.pausedSince;
  }

  error(err: unknown): void {
    this.isConnected = false;
    if (this.isPaused) this.resumed();
    this.errors++;
    const logged = loggedError(err);
    const key = `${logged.type}\u0000${logged.code ?? ''}`;
    const entry = this.errorsByKind.get(key);
    if (entry === undefined) this.errorsByKind.set(key, { error: { type: logged.type, ...(logged.code === undefined ? {} : { code: logged.code }), message: '' }, count: 1 });
    else entry.count++;
    this.lastError = { ...logged, at: this.now() };
  }

  closed(): void {
    this.isConnected = false;
    if (this.isPaused) this.resumed();
  }

  /** The server's current WAL position from elsewhere (a slot monitor's `pg_current_wal_lsn()`). */
  serverWalPosition(lsn: Lsn): void {
    if (lsn.value > this.walEnd) this.walEnd = lsn.value;
  }

  /** The metrics now. */
  snapshot(): ReplicationMetricsSnapshot {
    const now = this.now();
    const acknowledged = this.feedback?.acknowledged.value ?? 0n;
    const done = acknowledged > this.flushed ? acknowledged : this.flushed;
    while (this.pendingHead < this.pendingQueue.length && this.pendingQueue[this.pendingHead].lsn <= done) this.pendingHead++;
    if (this.pendingHead > 1024 && this.pendingHead * 2 > this.pendingQueue.length) {
      this.pendingQueue = this.pendingQueue.slice(this.pendingHead);
      this.pendingHead = 0;
    }
    const oldest = this.pendingQueue[this.pendingHead];
    const walEnd = this.walEnd > this.received ? this.walEnd : this.received;
    const current: Sample = { at: now, messages: this.messages, transactions: this.transactions, bytes: this.bytes };
    const base = this.rateBase(current);
    const seconds = (now - base.at) / 1000;
    const rate = (a: number, b: number) => (seconds > 0 ? (a - b) / seconds : 0);
    return {
      at: now,
      kind: this.kind,
      slot: this.slot,
      connected: this.isConnected,
      receivedLsn: Lsn.from(this.received),
      flushedLsn: Lsn.from(this.flushed),
      acknowledgedLsn: Lsn.from(acknowledged),
      serverWalEnd: Lsn.from(walEnd),
      lagBytes: walEnd > done ? Number(walEnd - done) : 0,
      lagSeconds: oldest === undefined ? 0 : Math.max(0, (now - oldest.at) / 1000),
      messages: this.messages,
      transactions: this.transactions,
      bytes: this.bytes,
      messagesPerSecond: rate(current.messages, base.messages),
      transactionsPerSecond: rate(current.transactions, base.transactions),
      bytesPerSecond: rate(current.bytes, base.bytes),
      paused: this.isPaused,
      pausedSeconds: (this.pausedMs + (this.isPaused ? now - this.pausedSince : 0)) / 1000,
      pauses: this.pauses,
      connections: this.connections,
      reconnections: Math.max(0, this.connections - 1),
      errors: this.errors,
      errorsByKind: new Map(this.errorsByKind),
      lastError: this.lastError,
    };
  }

  /**
   * A snapshot at once and every `interval` ms, until unsubscribed.
   * @example metrics.snapshots(1000).subscribe((m) => gauge.set(m.lagBytes));
   */
  snapshots(interval = 1000): Observable<ReplicationMetricsSnapshot> {
    return timer(0, interval).pipe(map(() => this.snapshot()));
  }

  private addPending(lsn: bigint, at: number): void {
    const last = this.pendingQueue.length > this.pendingHead ? this.pendingQueue[this.pendingQueue.length - 1] : undefined;
    // Merging keeps the older time with the newer LSN: the lag reads older, never younger.
    if (last !== undefined && (at - last.at < 1 || this.pendingQueue.length - this.pendingHead >= MAX_PENDING)) {
      if (lsn > last.lsn) last.lsn = lsn;
      return;
    }
    this.pendingQueue.push({ lsn, at });
  }

  /** The newest sample at least `rateWindow` old (or the oldest there is); records `current` once a second. */
  private rateBase(current: Sample): Sample {
    const samples = this.samples;
    if (current.at - samples[samples.length - 1].at >= SAMPLE_EVERY_MS) samples.push(current);
    while (samples.length > 1 && samples[1].at <= current.at - this.rateWindow) samples.shift();
    return samples[0];
  }
}

/** Where a pgoutput message that ends a unit of work carries its commit (or prepare, rollback) time; 0 for other tags. */
const COMMIT_TIME_OFFSET = new Uint8Array(256);
COMMIT_TIME_OFFSET[TAG_COMMIT] = 18; // flags, commit LSN, end LSN, commit time
COMMIT_TIME_OFFSET[TAG_PREPARE] = 18; // flags, prepare LSN, end LSN, prepare time
COMMIT_TIME_OFFSET[TAG_STREAM_PREPARE] = 18;
COMMIT_TIME_OFFSET[TAG_COMMIT_PREPARED] = 18; // flags, commit LSN, end LSN, commit time
COMMIT_TIME_OFFSET[TAG_STREAM_COMMIT] = 22; // xid, flags, commit LSN, end LSN, commit time
COMMIT_TIME_OFFSET[TAG_ROLLBACK_PREPARED] = 26; // flags, prepare end LSN, rollback end LSN, prepare time, rollback time

function pgTimeToMs(us: bigint): number {
  return pgTimestampToDate(us).getTime();
}
