import { Presets, SingleBar } from 'cli-progress';
import { ackLsnOf } from '../operators/ack-on-commit';
import type { Lsn } from '../src/lsn';
import type { ReplicationFrame } from '../src/protocol/frames';
import { pgTimestampToDate } from '../src/time';

/** What `pg-walstream stream` tells its progress line. */
export interface StreamProgress {
  /** Every frame received: keepalives and XLogData carry the server's WAL end. */
  frame(frame: ReplicationFrame): void;
  /** Every event once its lines are written (and acknowledged). */
  done(event: unknown): void;
  /** Removes the line. */
  stop(): void;
}

/** The figures a progress line shows. */
export interface ProgressState {
  /** Written (and acknowledged) up to here. */
  position: bigint;
  /** Where the stream started, to draw the bar. */
  start: bigint;
  /** `--endpos`, else the server's WAL end. */
  target: bigint;
  /** The server's WAL end, from the latest frame. */
  serverEnd: bigint;
  /** Commit time of the last transaction written, ms since the epoch; undefined before the first. */
  lastCommitMs: number | undefined;
  /** WAL bytes per second written, smoothed. */
  bytesPerSecond: number;
  /** Now, ms since the epoch. */
  nowMs: number;
}

const UNITS = ['B', 'kB', 'MB', 'GB', 'TB'];

/** `1.5 MB`, `312 B`. */
export function formatBytes(n: number): string {
  let i = 0;
  while (Math.abs(n) >= 1024 && i < UNITS.length - 1) {
    n /= 1024;
    i++;
  }
  return `${i === 0 ? n.toFixed(0) : n.toFixed(1)} ${UNITS[i]}`;
}

/** `42 s`, `3 min 5 s`, `2 h 10 min`. */
export function formatSeconds(s: number): string {
  if (!Number.isFinite(s)) return '?';
  s = Math.max(0, Math.round(s));
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${s % 60} s`;
  return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`;
}

function lsnText(v: bigint): string {
  return `${(v >> 32n).toString(16).toUpperCase()}/${(v & 0xffffffffn).toString(16).toUpperCase()}`;
}

/**
 * The fields of the progress line: `position 0/5A1B2C0 | lag 12.0 MB, 3 s | 41.2 MB/s | ETA 5 s`.
 * Lag is how far the written position is behind the server's WAL end, in bytes and in seconds
 * since the last written transaction committed (0 when caught up); the ETA is to `--endpos`, or to
 * the server's WAL end.
 */
export function progressFields(s: ProgressState): { walPosition: string; lagText: string; rateText: string; etaText: string } {
  const behind = s.serverEnd > s.position ? Number(s.serverEnd - s.position) : 0;
  const lagSeconds = behind === 0 || s.lastCommitMs === undefined ? 0 : (s.nowMs - s.lastCommitMs) / 1000;
  const remaining = s.target > s.position ? Number(s.target - s.position) : 0;
  const eta = remaining === 0 ? 'caught up' : s.bytesPerSecond > 0 ? `ETA ${formatSeconds(remaining / s.bytesPerSecond)}` : 'ETA ?';
  // Named apart from cli-progress's own tokens ({eta}, {value}, ...), which it fills itself.
  return {
    walPosition: lsnText(s.position),
    lagText: `lag ${formatBytes(behind)}, ${formatSeconds(lagSeconds)}`,
    rateText: `${formatBytes(s.bytesPerSecond)}/s`,
    etaText: eta,
  };
}

/**
 * The progress line of `pg-walstream stream` on a terminal: cli-progress's bar on `stream`
 * (stderr), redrawn a few times a second.
 */
export function terminalProgress(stream: NodeJS.WriteStream, endpos: Lsn | undefined): StreamProgress {
  const bar = new SingleBar(
    {
      stream,
      format: '{bar} {walPosition} | {lagText} | {rateText} | {etaText}',
      hideCursor: true,
      clearOnComplete: true,
      barsize: 20,
      fps: 5,
    },
    Presets.shades_classic,
  );
  const state: ProgressState = { position: 0n, start: -1n, target: 0n, serverEnd: 0n, lastCommitMs: undefined, bytesPerSecond: 0, nowMs: Date.now() };
  let started = false;
  let received = 0n; // highest XLogData position received
  let sample = { at: Date.now(), position: 0n };
  const redraw = () => {
    const now = Date.now();
    state.nowMs = now;
    if (state.start < 0n) return;
    const dt = (now - sample.at) / 1000;
    if (dt >= 1) {
      const rate = Number(state.position - sample.position) / dt;
      state.bytesPerSecond = state.bytesPerSecond === 0 ? rate : 0.7 * state.bytesPerSecond + 0.3 * rate;
      sample = { at: now, position: state.position };
    }
    state.target = endpos?.value ?? state.serverEnd;
    const total = Math.max(1, Number(state.target - state.start));
    const value = Math.min(total, Math.max(0, Number(state.position - state.start)));
    const fields = progressFields(state);
    if (!started) {
      bar.start(total, value, fields);
      started = true;
    } else {
      bar.setTotal(total);
      bar.update(value, fields);
    }
  };
  const timer = setInterval(redraw, 250);
  timer.unref();
  return {
    frame(frame) {
      if (frame.walEnd.value > state.serverEnd) state.serverEnd = frame.walEnd.value;
      if (frame.type === 'xlogdata' && frame.walStart.value > received) received = frame.walStart.value;
      // Everything received is written: the server's WAL end is all there is (as the source's idle confirmation).
      if (frame.type === 'keepalive' && state.position >= received && frame.walEnd.value > state.position && state.start >= 0n) state.position = frame.walEnd.value;
      if (state.start < 0n && frame.type === 'xlogdata' && !frame.walStart.isZero()) {
        state.start = frame.walStart.value;
        state.position = frame.walStart.value;
        sample = { at: Date.now(), position: state.position };
      }
    },
    done(event) {
      const lsn = ackLsnOf(event);
      if (lsn !== undefined && lsn.value > state.position) state.position = lsn.value;
      const time = (event as { commitTime?: bigint }).commitTime;
      if (typeof time === 'bigint') state.lastCommitMs = pgTimestampToDate(time).getTime();
    },
    stop() {
      clearInterval(timer);
      if (started) bar.stop();
    },
  };
}
