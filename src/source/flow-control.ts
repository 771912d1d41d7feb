import type { Observable } from 'rxjs';
import type { Lsn } from '../lsn';
import {
  TAG_COMMIT,
  TAG_COMMIT_PREPARED,
  TAG_MESSAGE,
  TAG_PREPARE,
  TAG_ROLLBACK_PREPARED,
  TAG_STREAM_COMMIT,
  TAG_STREAM_PREPARE,
  TAG_STREAM_START,
  TAG_STREAM_STOP,
} from '../pgoutput/tags';

/**
 * Flow control of a logical replication source: how much finished-but-unacknowledged work may be
 * in flight before the source stops reading from the socket.
 *
 * Only *finished units* count: a transaction counts once its Commit (or Stream Commit, Prepare,
 * Stream Prepare, Commit Prepared, Rollback Prepared) has arrived, and a non-transactional logical
 * message counts at once. A transaction still being received never counts, so one transaction
 * larger than the window cannot deadlock the source: it is read to its end, handed downstream, and
 * only then can the window close.
 */
export interface FlowControlOptions {
  /** Pause reading when this many finished transactions are unacknowledged. Default 1000. */
  maxPendingTransactions?: number;
  /**
   * Pause reading when the XLogData bytes (payload plus 25-byte header) of the finished,
   * unacknowledged transactions reach this many bytes. Default 64 MiB.
   */
  maxPendingBytes?: number;
  /**
   * The consumer's own brake, on top of the two counts: while the last value it emitted is `true`,
   * the source stops reading from the socket, also part way through a transaction; `false`
   * resumes (unless the counts keep it paused). For a consumer whose own output has bounded
   * room and does not depend on acknowledgments to drain, such as the CLI's standard output
   * (a pipe to a slow reader): it must emit `false` again on its own, or the stream stalls.
   * Subscribed on connect, unsubscribed when the stream ends. Default: none.
   */
  backpressure?: Observable<boolean>;
}

export const DEFAULT_MAX_PENDING_TRANSACTIONS = 1000;
export const DEFAULT_MAX_PENDING_BYTES = 64 * 1024 * 1024;

const XLOGDATA_HEADER = 25;

/**
 * Counts finished units from the raw pgoutput payloads and decides when to pause and resume.
 * A unit sent at XLogData position `L` is done once the acknowledged LSN reaches `L`. Reading resumes once both counts fall to half their limit, so a busy stream does
 * not pause and resume on every transaction.
 */
export class FlowWindow {
  private readonly maxUnits: number;
  private readonly maxBytes: number;
  // Ring of finished units: the LSN at which each is done and the byte total when it finished.
  // Where each pending unit is done, as LSN halves: no bigint per Commit on the hot path.
  private doneHi: number[] = [];
  private doneLo: number[] = [];
  private bytesAt: number[] = [];
  private head = 0;
  private received = 0; // XLogData bytes received so far
  private ackedBytes = 0; // bytes total at the last unit acknowledged
  private inStream = false;
  private ackedHi = 0;
  private ackedLo = 0;
  private lastHi = 0;
  private lastLo = 0;
  /** How many times {@link lastUnit} has advanced: a unit finished when this grows. */
  unitsFinished = 0;
  paused = false;

  /** The LSN at which the last finished unit received is done (0 before any). */
  get lastUnit(): bigint {
    return this.lastHi === 0 ? BigInt(this.lastLo) : (BigInt(this.lastHi) << 32n) | BigInt(this.lastLo);
  }

  constructor(options: FlowControlOptions = {}) {
    this.maxUnits = options.maxPendingTransactions ?? DEFAULT_MAX_PENDING_TRANSACTIONS;
    this.maxBytes = options.maxPendingBytes ?? DEFAULT_MAX_PENDING_BYTES;
    if (!(this.maxUnits >= 1) || !(this.maxBytes >= 1)) throw new RangeError('flowControl limits must be at least 1');
  }

  /** Finished units not yet acknowledged. */
  get pendingUnits(): number {
    return this.doneHi.length - this.head;
  }

  /** Bytes of the finished units not yet acknowledged. */
  get pendingBytes(): number {
    return this.pendingUnits === 0 ? 0 : this.bytesAt[this.bytesAt.length - 1] - this.ackedBytes;
  }

  /** Accounts one XLogData frame; returns true when the source should pause reading now. */
  onXLogData(walStart: Lsn, data: Buffer): boolean {
    return this.onXLogDataAt(walStart.hi, walStart.lo, data, 0, data.length);
  }

  /**
   * {@link onXLogData} for a payload read in place, `buf[start, end)`, sent at the LSN whose halves
   * are `hi` and `lo`: no view and no `bigint`.
   */
  onXLogDataAt(hi: number, lo: number, buf: Buffer, start: number, end: number): boolean {
    const size = end - start;
    this.received += size + XLOGDATA_HEADER;
    const tag = size > 0 ? buf[start] : 0;
    let done = false;
    switch (tag) {
      case TAG_STREAM_START:
        this.inStream = true;
        break;
      case TAG_STREAM_STOP:
        this.inStream = false;
        break;
      case TAG_COMMIT:
      case TAG_STREAM_COMMIT:
      case TAG_PREPARE:
      case TAG_STREAM_PREPARE:
      case TAG_COMMIT_PREPARED:
      case TAG_ROLLBACK_PREPARED:
        done = true;
        break;
      case TAG_MESSAGE:
        done = !this.inStream && size > 1 && (buf[start + 1] & 1) === 0;
        break;
    }
    if (done) {
      if (hi > this.lastHi || (hi === this.lastHi && lo > this.lastLo)) {
        this.lastHi = hi;
        this.lastLo = lo;
        this.unitsFinished++;
      }
      if (hi > this.ackedHi || (hi === this.ackedHi && lo > this.ackedLo)) {
        this.doneHi.push(hi);
        this.doneLo.push(lo);
        this.bytesAt.push(this.received);
      }
    }
    if (!this.paused && (this.pendingUnits >= this.maxUnits || this.pendingBytes >= this.maxBytes)) this.paused = true;
    return this.paused;
  }

  /**
   * Accounts the consumer's progress (`LsnFeedback.finished`: work done, even where a held
   * prepared transaction keeps the acknowledgment lower); returns true when a paused source should
   * resume reading now.
   */
  onAcknowledged(lsn: Lsn): boolean {
    if (lsn.hi > this.ackedHi || (lsn.hi === this.ackedHi && lsn.lo > this.ackedLo)) {
      this.ackedHi = lsn.hi;
      this.ackedLo = lsn.lo;
    }
    const ah = this.ackedHi;
    const al = this.ackedLo;
    while (this.head < this.doneHi.length && (this.doneHi[this.head] < ah || (this.doneHi[this.head] === ah && this.doneLo[this.head] <= al))) {
      this.ackedBytes = this.bytesAt[this.head];
      this.head++;
    }
    if (this.head > 1024 && this.head * 2 > this.doneHi.length) {
      this.doneHi = this.doneHi.slice(this.head);
      this.doneLo = this.doneLo.slice(this.head);
      this.bytesAt = this.bytesAt.slice(this.head);
      this.head = 0;
    }
    if (this.paused && this.pendingUnits <= this.maxUnits / 2 && this.pendingBytes <= this.maxBytes / 2) {
      this.paused = false;
      return true;
    }
    return false;
  }
}
