import { close, fstatSync, fsync, openSync, writeSync } from 'node:fs';
import type { Writable } from 'node:stream';
import { isatty } from 'node:tty';

/** Where `pg-walstream stream` writes: one text chunk at a time, with an optional fsync. */
export interface OutputSink {
  /** Writes `bytes`; `done` runs once the operating system has them (or with the error). */
  write(bytes: Buffer, done: (err?: Error | null) => void): void;
  /** True when `write` has finished with the bytes when it returns (they may then be reused). */
  readonly synchronous: boolean;
  /** Makes what was written durable (fsync); absent when the target cannot be synced (a pipe, a terminal, /dev/null). */
  sync?(done: (err?: Error | null) => void): void;
  /** Releases the target. */
  close(done: (err?: Error | null) => void): void;
  /** What the target is, for error messages: a path or `standard output`. */
  readonly name: string;
}

/**
 * The output could not be written: a path that cannot be opened, a closed pipe (EPIPE), a full
 * disk (ENOSPC), a failed fsync. The CLI exits with {@link EXIT_OUTPUT}.
 */
export class OutputError extends Error {
  override name = 'OutputError';
  constructor(
    readonly target: string,
    readonly code: string | undefined,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }

  static from(target: string, action: string, err: unknown): OutputError {
    if (err instanceof OutputError) return err;
    const code = (err as NodeJS.ErrnoException | undefined)?.code;
    const what =
      code === 'EPIPE' ? 'the reader closed the pipe (EPIPE)'
      : code === 'ENOSPC' ? 'no space left on device (ENOSPC)'
      : code === 'EACCES' || code === 'EPERM' ? `permission denied (${code})`
      : code === 'ENOENT' ? 'no such directory (ENOENT)'
      : code === 'EISDIR' ? 'it is a directory (EISDIR)'
      : (err as Error | undefined)?.message ?? String(err);
    return new OutputError(target, code, `cannot ${action} ${target}: ${what}`, { cause: err });
  }
}

/**
 * A file descriptor written with synchronous writes: regular files (fsync'd, asynchronously) and
 * character devices. A write into the page cache is a copy, so doing it at once costs less than a
 * trip through the thread pool and lets the lines (and the rows behind them) be freed young.
 */
class FdSink implements OutputSink {
  readonly synchronous = true;
  constructor(
    private readonly fd: number,
    readonly name: string,
    syncable: boolean,
    private readonly owned: boolean,
  ) {
    if (!syncable) this.sync = undefined;
  }

  write(buf: Buffer, done: (err?: Error | null) => void): void {
    try {
      // A short write is followed by another, which reports the error (ENOSPC) if there is one.
      for (let offset = 0; offset < buf.length; ) offset += writeSync(this.fd, buf, offset, buf.length - offset);
    } catch (err) {
      return done(err as Error);
    }
    done();
  }

  sync?(done: (err?: Error | null) => void): void {
    fsync(this.fd, (err) => done(err));
  }

  close(done: (err?: Error | null) => void): void {
    if (this.owned) close(this.fd, (err) => done(err));
    else done();
  }
}

/** A Node stream (standard output on a pipe or a terminal, or any Writable in tests). */
class StreamSink implements OutputSink {
  readonly synchronous = false;
  private error: Error | undefined;
  constructor(
    private readonly stream: Writable,
    readonly name: string,
  ) {
    // A closed pipe is reported as an 'error' event too; without a listener it would crash the process.
    stream.on('error', (err) => (this.error ??= err));
  }

  write(bytes: Buffer, done: (err?: Error | null) => void): void {
    if (this.error !== undefined) return done(this.error);
    this.stream.write(bytes, (err) => done(err ?? this.error));
  }

  close(done: (err?: Error | null) => void): void {
    done(this.error);
  }
}

/**
 * Opens where JSON lines go: a file, opened for appending (like pg_recvlogical -f) and created if
 * missing, or `-` for standard output. A regular file (also standard output redirected to one) is
 * fsync'd; pipes, terminals and character devices are not.
 * @throws {OutputError} when the file cannot be opened for writing, before anything connects.
 */
export function openOutput(target: string): OutputSink {
  if (target === '-') {
    const st = fstatSync(1);
    if (st.isFile() || (st.isCharacterDevice() && !isatty(1))) return new FdSink(1, 'standard output', st.isFile(), false);
    return new StreamSink(process.stdout, 'standard output');
  }
  let fd: number;
  try {
    fd = openSync(target, 'a');
  } catch (err) {
    throw OutputError.from(target, 'open', err);
  }
  const st = fstatSync(fd);
  return new FdSink(fd, target, st.isFile(), true);
}

/** A sink over any Writable (tests, embedding). */
export function streamOutput(stream: Writable, name = 'the output'): OutputSink {
  return new StreamSink(stream, name);
}
