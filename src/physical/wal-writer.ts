import { closeSync, existsSync, fstatSync, fsyncSync, openSync, readdirSync, renameSync, statSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { WalstreamError } from '../errors';
import { Lsn } from '../lsn';
import type { LsnFeedback } from '../source/feedback';
import { parseSegmentFileName, segmentFileName, segmentOf, segmentOffset, segmentStart } from './wal-names';

/** Options of {@link WalSegmentWriter}. */
export interface WalSegmentWriterOptions {
  /** The directory of segment files; must exist. */
  directory: string;
  /** `wal_segment_size` in bytes. */
  segmentSize: number;
  /** Suffix of the segment being written, dropped once it is complete. Default `.partial`; `''` writes final names at once (pg_basebackup's WAL streaming). */
  partialSuffix?: string;
  /** Acknowledged up to each fsynced position. */
  feedback?: LsnFeedback;
  /** fsync files and the directory. Default true; false only for throwaway copies. */
  sync?: boolean;
}

/** A segment file that was completed, fsynced and given its final name. */
export interface CompletedSegment {
  timeline: number;
  segment: bigint;
  fileName: string;
  path: string;
}

/** An I/O or continuity failure of the WAL writer. */
export class WalWriteError extends WalstreamError {
  override name = 'WalWriteError';
  constructor(message: string, readonly lsn?: Lsn, options?: { cause?: unknown }) {
    super(message, options);
  }
}

interface OpenSegment {
  fd: number;
  timeline: number;
  segment: bigint;
  fileName: string;
  path: string;
}

const ZEROS = Buffer.alloc(1024 * 1024);

/**
 * Writes raw WAL into segment files the way pg_receivewal does (`receivelog.c`, `walmethods.c`):
 * one file per segment, named `XLogFileName` plus `.partial` while open, created zero-padded to the
 * full segment size, fsynced and renamed once complete. `flush()` fsyncs the open segment and only
 * then acknowledges its position on `feedback`, so the server never drops WAL that is not on disk.
 *
 * File I/O is synchronous, as in pg_receivewal: it keeps writes, fsyncs and renames in order.
 *
 * @example
 * const writer = new WalSegmentWriter({ directory: 'wal', segmentSize: 16 * 1024 * 1024, feedback });
 * writer.write(1, frame.walStart, frame.data);
 * writer.flush();
 * writer.close();
 */
export class WalSegmentWriter {
  private open: OpenSegment | undefined;
  /** The LSN just past the last byte written. */
  private position: Lsn | undefined;
  private timeline = 0;
  private flushedPosition: Lsn = Lsn.ZERO;
  private readonly suffix: string;
  private readonly sync: boolean;

  constructor(private readonly options: WalSegmentWriterOptions) {
    this.suffix = options.partialSuffix ?? '.partial';
    this.sync = options.sync ?? true;
  }

  /** The LSN just past the last byte written, if any. */
  get written(): Lsn | undefined {
    return this.position;
  }

  /** The LSN up to which everything is fsynced. */
  get flushed(): Lsn {
    return this.flushedPosition;
  }

  /**
   * Writes `data`, the WAL starting at `walStart` on `timeline`, completing segments as it crosses
   * their ends. Returns the segments completed by this write.
   * @throws {WalWriteError} when the data does not continue what was written, starts a new file
   *   mid-segment, meets a file of a wrong size, or on an I/O error.
   */
  write(timeline: number, walStart: Lsn, data: Buffer): CompletedSegment[] {
    const size = this.options.segmentSize;
    const completed: CompletedSegment[] = [];
    let lsn = walStart;
    let offset = 0;
    if (this.position !== undefined && (this.timeline !== timeline || !lsn.equals(this.position))) {
      throw new WalWriteError(`got WAL data at ${lsn} on timeline ${timeline}, expected ${this.position} on timeline ${this.timeline}`, lsn);
    }
    this.timeline = timeline;
    while (offset < data.length) {
      const inSegment = segmentOffset(lsn, size);
      if (this.open === undefined) {
        if (inSegment !== 0) throw new WalWriteError(`received WAL at ${lsn}, offset ${inSegment} of a segment, with no file open`, lsn);
        this.openSegment(timeline, segmentOf(lsn, size));
      }
      const n = Math.min(data.length - offset, size - inSegment);
      this.io(() => {
        let done = 0;
        while (done < n) done += writeSync(this.open!.fd, data, offset + done, n - done, inSegment + done);
      }, lsn);
      offset += n;
      lsn = lsn.add(n);
      this.position = lsn;
      if (segmentOffset(lsn, size) === 0) completed.push(this.closeSegment(true));
    }
    return completed;
  }

  /** fsyncs the open segment and acknowledges everything written. Returns the flushed position. */
  flush(): Lsn {
    if (this.open !== undefined && this.position !== undefined && this.position.value > this.flushedPosition.value) {
      const fd = this.open.fd;
      if (this.sync) this.io(() => fsyncSync(fd), this.position);
      this.markFlushed(this.position);
    }
    return this.flushedPosition;
  }

  /** Closes the open segment at the end of a timeline: fsynced, renamed only if complete (pg_receivewal's `close_walfile`). */
  endTimeline(): void {
    if (this.open !== undefined) this.closeSegment(false);
    this.position = undefined;
  }

  /** Writes a timeline history file unless it exists (via a `.tmp` file, fsynced and renamed). */
  writeHistoryFile(fileName: string, content: Buffer): boolean {
    const path = join(this.options.directory, fileName);
    if (existsSync(path)) return false;
    const tmp = `${path}.tmp`;
    this.io(() => {
      const fd = openSync(tmp, 'w', 0o600);
      try {
        writeSync(fd, content);
        if (this.sync) fsyncSync(fd);
      } finally {
        closeSync(fd);
      }
      renameSync(tmp, path);
      this.syncDirectory();
    });
    return true;
  }

  /** Flushes and closes; an incomplete segment keeps its partial name so a restart resumes it. */
  close(): void {
    this.flush();
    if (this.open !== undefined) this.closeSegment(false);
  }

  private openSegment(timeline: number, segment: bigint): void {
    const size = this.options.segmentSize;
    const fileName = segmentFileName(timeline, segment, size);
    const path = join(this.options.directory, fileName + this.suffix);
    this.io(() => {
      const existing = existsSync(path) ? statSync(path).size : 0;
      if (existing !== 0 && existing !== size) {
        throw new WalWriteError(`WAL file "${path}" has ${existing} bytes, should be 0 or ${size}`, segmentStart(segment, size));
      }
      const fd = openSync(path, existing === 0 ? 'w' : 'r+', 0o600);
      this.open = { fd, timeline, segment, fileName, path };
      if (existing === 0) {
        // Pre-allocate the whole segment, so a crash cannot leave a short file behind.
        for (let done = 0; done < size; ) done += writeSync(fd, ZEROS, 0, Math.min(ZEROS.length, size - done), done);
        if (this.sync) {
          fsyncSync(fd);
          this.syncDirectory();
        }
      }
    }, segmentStart(segment, size));
  }

  private closeSegment(complete: boolean): CompletedSegment {
    const seg = this.open!;
    this.open = undefined;
    const final = join(this.options.directory, seg.fileName);
    this.io(() => {
      try {
        if (fstatSync(seg.fd).size !== this.options.segmentSize) throw new WalWriteError(`WAL file "${seg.path}" changed size while open`);
        if (this.sync) fsyncSync(seg.fd);
      } finally {
        closeSync(seg.fd);
      }
      if (complete && seg.path !== final) {
        renameSync(seg.path, final);
        this.syncDirectory();
      }
    }, this.position);
    if (this.position !== undefined) this.markFlushed(this.position);
    return { timeline: seg.timeline, segment: seg.segment, fileName: seg.fileName, path: complete ? final : seg.path };
  }

  private markFlushed(lsn: Lsn): void {
    if (lsn.value > this.flushedPosition.value) this.flushedPosition = lsn;
    this.options.feedback?.acknowledge(lsn);
  }

  private syncDirectory(): void {
    if (!this.sync) return;
    const fd = openSync(this.options.directory, 'r');
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  }

  private io<T>(fn: () => T, lsn?: Lsn): T {
    try {
      return fn();
    } catch (err) {
      if (err instanceof WalstreamError) throw err;
      throw new WalWriteError(`WAL write failed in ${this.options.directory}: ${(err as Error).message}`, lsn, { cause: err });
    }
  }
}

/** Where to resume streaming into a directory, from {@link findStreamingStart}. */
export interface StreamingStart {
  startLsn: Lsn;
  timeline: number;
}

/**
 * Scans a directory of segment files as pg_receivewal's `FindStreamingStart` does: the highest
 * segment wins (then the higher timeline, then a complete file over a partial one); a complete
 * segment resumes at the next segment's start, a `.partial` one at its own start. Files of a wrong
 * size are ignored. Returns undefined for a directory without segments.
 *
 * @example
 * const resume = findStreamingStart('/srv/wal', 16 * 1024 * 1024);
 * // { startLsn: Lsn(0/5000000), timeline: 1 } after 000000010000000000000004 was completed
 */
export function findStreamingStart(directory: string, segmentSize: number, partialSuffix = '.partial'): StreamingStart | undefined {
  let best: { timeline: number; segment: bigint; partial: boolean } | undefined;
  for (const name of readdirSync(directory)) {
    const partial = partialSuffix !== '' && name.endsWith(partialSuffix);
    const id = parseSegmentFileName(partial ? name.slice(0, -partialSuffix.length) : name, segmentSize);
    if (id === undefined) continue;
    if (statSync(join(directory, name)).size !== segmentSize) continue;
    if (
      best === undefined ||
      id.segment > best.segment ||
      (id.segment === best.segment && id.timeline > best.timeline) ||
      (id.segment === best.segment && id.timeline === best.timeline && !partial && best.partial)
    ) {
      best = { ...id, partial };
    }
  }
  if (best === undefined) return undefined;
  return { startLsn: segmentStart(best.partial ? best.segment : best.segment + 1n, segmentSize), timeline: best.timeline };
}

