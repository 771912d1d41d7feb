import type { Socket } from 'node:net';

/** The rate is measured over windows of this many milliseconds. */
const WINDOW_MS = 10;
/** A window with at least this many bytes is busy: 64 KB per 10 ms = 6.4 MB/s. */
const BULK_BYTES = 64 * 1024;
/** How long to let the kernel buffer fill before reading again. */
const HOLD_MS = 1;
/** A read this large means more is already waiting: keep reading. */
const LARGE_READ = 32 * 1024;
/**
 * Quiet windows in a row that end bulk mode (100 ms). A walsender catching up on 1,000-row
 * transactions sends in bursts (a few transactions in 10–15 ms, then 20–30 ms of reading WAL with
 * almost nothing sent): with two, every pause between bursts left bulk mode, and the next burst was
 * read at about 150 bytes a read before two busy windows brought it back (docs/benchmarks.md, "The
 * hot path": 12,000–22,000 reads for the baseline instead of 4,000–6,000).
 */
const QUIET_WINDOWS = 10;

/**
 * Batches socket reads during a bulk COPY transfer such as a walsender catching up.
 *
 * A client that keeps up with the walsender wakes for every few messages: on the baseline
 * benchmark that was about 45,000 reads of 760 bytes for 71 MB, and those wakeups (syscalls, libuv
 * and stream machinery, one buffer per read) cost more CPU than decoding the messages. Once data
 * has arrived at 6.4 MB/s or more for two 10 ms windows in a row, and until ten windows in a row
 * (100 ms) bring less or no read comes for 20 ms, a small read is followed by a pause of about a millisecond, so that the next read
 * takes what has accumulated (up to 64 KB). Below that rate (a live stream of 5,000 small
 * transactions per second is about 1 MB/s), and for the one busy window that follows a stall of the
 * event loop, reads are never held and latency is untouched; in bulk a hold adds at most about a
 * millisecond (plus timer slack) to a message's delivery.
 * @internal
 */
export class ReadCoalescer {
  private windowStart = 0;
  private windowBytes = 0;
  /** Busy windows in a row, up to the one before the current window. */
  private busyWindows = 0;
  /** Quiet windows in a row, up to the one before the current window. */
  private quietWindows = 0;
  /** Holding small reads: entered after two busy windows in a row, left after {@link QUIET_WINDOWS} quiet ones or a 20 ms gap. */
  private bulk = false;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly socket: Pick<Socket, 'pause' | 'resume' | 'destroyed'> & { encrypted?: boolean },
    /** True while the connection's user (flow control) wants the socket paused. */
    private readonly pausedByUser: () => boolean,
    /** Clock in milliseconds; a parameter for tests. */
    private readonly now: () => number = () => performance.now(),
  ) {}

  /** True while a hold is in progress. */
  get holding(): boolean {
    return this.timer !== undefined;
  }

  /** Called for each chunk read during a COPY stream. */
  onRead(length: number): void {
    // A TLS socket emits one decrypted record (at most 16 KB, often one server write) per 'data'
    // event, so chunk sizes say nothing about what waits in the kernel: holding after each would
    // cap the stream at a record per millisecond.
    if (this.socket.encrypted === true) return;
    const now = this.now();
    if (now - this.windowStart >= WINDOW_MS) {
      // A gap of more than a window without reads is quiet enough to leave bulk mode at once.
      const gap = now - this.windowStart >= 2 * WINDOW_MS;
      if (!gap && this.windowBytes >= BULK_BYTES) {
        this.busyWindows++;
        this.quietWindows = 0;
      } else {
        this.busyWindows = 0;
        this.quietWindows = gap ? QUIET_WINDOWS : this.quietWindows + 1;
      }
      if (this.quietWindows >= QUIET_WINDOWS) this.bulk = false;
      this.windowStart = now;
      this.windowBytes = 0;
    }
    this.windowBytes += length;
    // Hysteresis: one busy window (a stall's backlog) does not start holding, and the quiet windows
    // between a catching-up walsender's bursts (it is reading WAL) do not stop it.
    if (this.busyWindows >= 2 || (this.busyWindows === 1 && this.windowBytes >= BULK_BYTES)) this.bulk = true;
    if (!this.bulk || this.timer !== undefined || length >= LARGE_READ) return;
    this.socket.pause();
    // Not unref'd: a paused socket does not keep the event loop alive, so this timer must.
    this.timer = setTimeout(() => this.release(), HOLD_MS);
  }

  /** Ends a hold at once (the COPY ended) or when it is due. */
  release(): void {
    if (this.timer === undefined) return;
    clearTimeout(this.timer);
    this.timer = undefined;
    if (!this.pausedByUser() && !this.socket.destroyed) this.socket.resume();
  }
}
