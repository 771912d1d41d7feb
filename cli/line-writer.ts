import { BehaviorSubject, type Observable, distinctUntilChanged } from 'rxjs';
import { ByteBuffer } from './byte-buffer';
import { OutputError, type OutputSink } from './output';

/** Options of a {@link LineWriter}. */
export interface LineWriterOptions {
  /**
   * Most milliseconds between fsyncs of a syncable output (a regular file), like pg_recvlogical's
   * `-F`; 0 never fsyncs, and lines count as done once written. Default 10000.
   */
  fsyncInterval?: number;
  /** Bytes gathered before a write starts without waiting for the end of the I/O tick. Default 256 KiB. */
  batchSize?: number;
  /** Bytes written but not fsync'd that start an fsync before the interval is up. Default 4 MiB. */
  syncBytes?: number;
  /**
   * Bytes queued or in flight (not yet accepted by the operating system) at which
   * {@link LineWriter.backpressure} turns on; it turns off at half. Default 4 MiB.
   */
  maxPendingBytes?: number;
}

/**
 * Gathers JSON lines into large writes, one write in flight at a time, and counts how many lines
 * are written and how many are durable (written and covered by an fsync), so that a transaction is
 * acknowledged only once its last line is. Lines pushed while a write is in flight wait for the next
 * one: a slow output slows acknowledgments, which is what makes the source's flow control stop
 * reading the socket.
 */
export class LineWriter {
  /** Lines accepted so far. */
  pushed = 0;
  /** Lines handed to a write so far (written, in flight, or dropped by a failure). */
  taken = 0;
  /** Lines the operating system has accepted. */
  written = 0;
  /** Lines written and, for a syncable output with fsync on, fsync'd. */
  durable = 0;
  /** The first failure; nothing is written after it. */
  failed: OutputError | undefined;

  private readonly fsyncInterval: number;
  private readonly batchSize: number;
  private readonly syncs: boolean;
  private readonly syncBytes: number;
  private unsynced = 0;
  /** Where the next lines are encoded; {@link endLine} after each. */
  readonly out = new ByteBuffer();
  private queued = 0; // lines in `out`
  private writing = false;
  private syncing = false;
  private syncWanted = false;
  private lastSync = Date.now();
  private timer: NodeJS.Timeout | undefined;
  private scheduled = false;
  private ending: { resolve: () => void; reject: (err: unknown) => void } | undefined;
  private closing = false;
  private ended: Promise<void> | undefined;
  private readonly listeners = new Set<() => void>();
  private readonly maxPendingBytes: number;
  private inFlight = 0; // bytes of the write in flight
  private readonly full = new BehaviorSubject(false);
  /**
   * `true` while the lines not yet accepted by the output (queued, or in the write in flight)
   * reach `maxPendingBytes`, `false` once they are down to half: a slow reader of a pipe.
   * The CLI hands it to the source's flow control (`flowControl.backpressure`), which then stops
   * reading from the walsender, also inside a transaction. Emits its current value on subscribe.
   */
  readonly backpressure: Observable<boolean> = this.full.pipe(distinctUntilChanged());

  constructor(
    readonly sink: OutputSink,
    options: LineWriterOptions = {},
  ) {
    this.fsyncInterval = options.fsyncInterval ?? 10_000;
    this.batchSize = options.batchSize ?? 256 << 10;
    this.syncs = this.fsyncInterval > 0 && sink.sync !== undefined;
    this.syncBytes = options.syncBytes ?? 4 << 20;
    this.maxPendingBytes = options.maxPendingBytes ?? 4 << 20;
  }

  /** Bytes of lines accepted but not yet accepted by the output: queued, plus the write in flight. */
  get pendingBytes(): number {
    return this.out.pos + this.inFlight;
  }

  /** Calls `listener` whenever `durable` advances or the writer fails; returns the unsubscriber. */
  onProgress(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** False after a failure or once ending: lines are then dropped. */
  get accepting(): boolean {
    return this.failed === undefined && this.ending === undefined;
  }

  /** Queues one line (with its newline). Ignored after a failure or once ending. */
  push(line: string): void {
    if (!this.accepting) return;
    this.out.utf8(line);
    this.endLine();
  }

  /** Counts the line just encoded into {@link out}. */
  endLine(): void {
    this.pushed++;
    this.queued++;
    if (this.out.pos >= this.batchSize) {
      this.flush();
      if (this.writing && !this.full.value && this.out.pos + this.inFlight >= this.maxPendingBytes) this.full.next(true);
    }
    else if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(this.flushScheduled);
    }
  }

  /** Asks for an fsync as soon as the current write is done (the acknowledgment window is filling). */
  requestSync(): void {
    if (!this.syncs) return;
    this.syncWanted = true;
    this.maybeSync();
  }

  /**
   * Writes what is queued, fsyncs it (when syncing) and releases the output. Resolves once every
   * line pushed is durable; rejects with the {@link OutputError} if any write or fsync failed.
   */
  end(): Promise<void> {
    this.ended ??= new Promise<void>((resolve, reject) => {
      this.ending = { resolve, reject };
      this.flush();
      this.settle();
    });
    return this.ended;
  }

  private readonly flushScheduled = () => {
    this.scheduled = false;
    this.flush();
  };

  private flush(): void {
    if (this.writing || this.failed !== undefined || this.queued === 0) return;
    const upTo = this.pushed;
    this.taken = upTo;
    // A synchronous sink is done with the bytes when write returns, so the buffer is reused.
    const bytes = this.out.take(this.sink.synchronous);
    this.queued = 0;
    this.writing = true;
    this.inFlight = bytes.length;
    this.sink.write(bytes, (err) => {
      this.writing = false;
      this.inFlight = 0;
      if (err) return this.fail(OutputError.from(this.sink.name, 'write to', err));
      this.written = upTo;
      this.unsynced += bytes.length;
      if (!this.syncs) this.advance(upTo);
      else this.maybeSync();
      this.flush();
      if (this.full.value && this.out.pos + this.inFlight <= this.maxPendingBytes / 2) this.full.next(false);
      this.settle();
    });
  }

  private maybeSync(): void {
    if (!this.syncs || this.syncing || this.failed !== undefined || this.written === this.durable) return;
    const wait = this.fsyncInterval - (Date.now() - this.lastSync);
    if (!this.syncWanted && this.unsynced < this.syncBytes && wait > 0 && this.ending === undefined) {
      if (this.timer === undefined) {
        this.timer = setTimeout(() => {
          this.timer = undefined;
          this.maybeSync();
        }, wait);
      }
      return;
    }
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    this.syncing = true;
    this.syncWanted = false;
    this.unsynced = 0;
    const upTo = this.written;
    this.sink.sync!((err) => {
      this.syncing = false;
      this.lastSync = Date.now();
      if (err) return this.fail(OutputError.from(this.sink.name, 'fsync', err));
      this.advance(upTo);
      this.maybeSync();
      this.settle();
    });
  }

  private advance(upTo: number): void {
    if (upTo <= this.durable) return;
    this.durable = upTo;
    for (const l of this.listeners) l();
  }

  private fail(err: OutputError): void {
    if (this.failed !== undefined) return;
    this.failed = err;
    this.out.take(true);
    this.queued = 0;
    if (this.full.value) this.full.next(false); // nothing more is written: the stream ends instead
    if (this.timer !== undefined) clearTimeout(this.timer);
    for (const l of this.listeners) l();
    this.settle();
  }

  /** Finishes `end()` once nothing is queued, written-but-unsynced or in flight; closes the sink once. */
  private settle(): void {
    const e = this.ending;
    if (e === undefined || this.closing) return;
    if (this.failed === undefined) {
      if (this.writing || this.syncing || this.queued > 0) return;
      if (this.durable < this.written) return this.maybeSync();
    }
    this.closing = true;
    const failed = this.failed;
    this.sink.close((err) => {
      if (failed !== undefined) e.reject(failed);
      else if (err) e.reject(OutputError.from(this.sink.name, 'close', err));
      else e.resolve();
    });
  }
}
