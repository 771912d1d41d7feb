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
  /** False when both limits are infinite (no flow control): then no unit needs remembering. */
  private readonly tracks: boolean;
  // The finished, unacknowledged units, oldest first, in a ring that grows by doubling: the LSN at
  // which each is done (halves: no bigint per Commit) and the byte total when it finished. Typed
  // arrays reused for the whole stream, so a unit costs no allocation.
  private doneHi = new Uint32Array(64);
  private doneLo = new Uint32Array(64);
  private bytesAt = new Float64Array(64);
  private head = 0;
  private count = 0;
  private received = 0; // XLogData bytes received so far
  private ackedBytes = 0; // bytes total at the last unit acknowledged
  private inStream = false;
  private ackedHi = 0;
  private ackedLo = 0;
  /** Halves of {@link lastUnit}. */
  lastHi = 0;
  lastLo = 0;
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
    this.tracks = Number.isFinite(this.maxUnits) || Number.isFinite(this.maxBytes);
  }

  /** Finished units not yet acknowledged. */
  get pendingUnits(): number {
    return this.count;
  }

  /** Bytes of the finished units not yet acknowledged. */
  get pendingBytes(): number {
    return this.count === 0 ? 0 : this.bytesAt[(this.head + this.count - 1) & (this.doneHi.length - 1)] - this.ackedBytes;
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
      if (this.tracks && (hi > this.ackedHi || (hi === this.ackedHi && lo > this.ackedLo))) this.remember(hi, lo);
    }
    if (!this.paused && (this.pendingUnits >= this.maxUnits || this.pendingBytes >= this.maxBytes)) this.paused = true;
    return this.paused;
  }

  private remember(hi: number, lo: number): void {
    let cap = this.doneHi.length;
    if (this.count === cap) {
      // Full: copy the ring, oldest first, into arrays twice the size.
      const doneHi = new Uint32Array(cap * 2);
      const doneLo = new Uint32Array(cap * 2);
      const bytesAt = new Float64Array(cap * 2);
      for (let k = 0; k < this.count; k++) {
        const j = (this.head + k) & (cap - 1);
        doneHi[k] = this.doneHi[j];
        doneLo[k] = this.doneLo[j];
        bytesAt[k] = this.bytesAt[j];
      }
      this.doneHi = doneHi;
      this.doneLo = doneLo;
      this.bytesAt = bytesAt;
      this.head = 0;
      cap *= 2;
    }
    const i = (this.head + this.count) & (cap - 1);
    this.doneHi[i] = hi;
    this.doneLo[i] = lo;
    this.bytesAt[i] = this.received;
    this.count++;
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
    const mask = this.doneHi.length - 1;
    while (this.count > 0) {
      const i = this.head;
      const h = this.doneHi[i];
      if (h > ah || (h === ah && this.doneLo[i] > al)) break;
      this.ackedBytes = this.bytesAt[i];
      this.head = (i + 1) & mask;
      this.count--;
    }
    if (this.paused && this.pendingUnits <= this.maxUnits / 2 && this.pendingBytes <= this.maxBytes / 2) {
      this.paused = false;
      return true;
    }
    return false;
  }
}
