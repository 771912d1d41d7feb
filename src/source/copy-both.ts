import { ConnectionError } from '../errors';
import type { PgConnection } from '../wire/connection';

/**
 * Ends a CopyBoth replication stream from the client side: a last status update, CopyDone, a wait
 * of at most `timeout` ms for the server's CopyDone/CommandComplete/ReadyForQuery (`onEnd` receives
 * the function to call when they arrived), then Terminate. Never rejects. Shared by the logical and
 * physical sources.

 */
export async function endCopyBoth(
  conn: PgConnection,
  streaming: boolean,
  sendStatus: () => void,
  timeout: number,
  onEnd: (resolve: () => void) => void,
): Promise<void> {
  try {
    if (streaming && !conn.isClosed) {
      sendStatus();
      const ended = new Promise<void>((resolve) => onEnd(resolve));
      conn.sendCopyDone();
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([ended, conn.whenClosed(), new Promise<void>((r) => (timer = setTimeout(r, timeout)))]);
      clearTimeout(timer);
    }
    await conn.end();
  } catch {
    conn.destroy();
  }
}

// Teardowns still under way, per slot, across both sources: a new subscription waits for the old
// walsender to let go of the slot instead of failing with 55006 ("replication slot is active").
const releasing = new Map<string, Promise<void>>();

/** Resolves once this process's last stream on `slot` has finished its teardown (at once if none). */
export function slotReleased(slot: string | undefined): Promise<void> {
  return (slot === undefined ? undefined : releasing.get(slot)) ?? Promise.resolve();
}

/** Records the teardown of a stream on `slot`, so {@link slotReleased} can wait for it. */
export function trackSlotRelease(slot: string | undefined, teardown: Promise<void>): void {
  if (slot === undefined) return;
  releasing.set(slot, teardown);
  void teardown.then(() => {
    if (releasing.get(slot) === teardown) releasing.delete(slot);
  });
}

/** Dead-peer detection, common to the logical and physical sources. */
export interface ReceiveTimeoutOptions {
  /**
   * Milliseconds without any message from the server after which the connection counts as dead
   * (a peer or proxy that vanished without FIN or RST): the stream errors with a retryable
   * `ConnectionError` (code `ETIMEDOUT`). After half of it the source asks the server for a reply,
   * so a live but idle server always answers in time. Like a standby's `wal_receiver_timeout`.
   * Time while flow control has paused reading does not count. Default 20000; 0 disables it.
   */
  receiveTimeout?: number;
}

/** Default of the sources' `receiveTimeout`, in ms: a dead peer is reported within about this long. */
export const DEFAULT_RECEIVE_TIMEOUT = 20_000;

/**
 * Detects a dead peer on a CopyBoth stream, as a standby's `wal_receiver_timeout` does
 * (walreceiver.c): after `timeout / 2` ms without any message from the server it asks for a
 * reply (`ping`, a standby status update with replyRequested = 1, which the walsender answers with
 * a keepalive at once), and after `timeout` ms without any it reports a retryable
 * {@link ConnectionError} with code `ETIMEDOUT`. Time while `paused()` (flow control holds the
 * socket) or while the event loop was blocked does not count: the server may have spoken and we
 * did not read. `timeout` 0 disables it. Shared by the logical and physical sources.
 */
export class ReceiveWatchdog {
  private last = Date.now();
  private lastTick = Date.now();
  private pinged = false;
  private timer: NodeJS.Timeout | undefined;
  private readonly tick: number;

  constructor(
    private readonly timeout: number,
    private readonly ping: () => void,
    private readonly onTimeout: (err: ConnectionError) => void,
    private readonly paused: () => boolean = () => false,
  ) {
    this.tick = Math.max(10, Math.min(1000, Math.floor(timeout / 10)));
  }

  /** Starts the clock (on CopyBothResponse). */
  start(): void {
    if (this.timeout <= 0 || this.timer !== undefined) return;
    this.last = this.lastTick = Date.now();
    this.timer = setInterval(() => this.check(), this.tick);
    this.timer.unref();
  }

  /** A message arrived from the server. */
  received(): void {
    this.last = Date.now();
    this.pinged = false;
  }

  stop(): void {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
  }

  private check(): void {
    const now = Date.now();
    const blocked = now - this.lastTick > 3 * this.tick;
    this.lastTick = now;
    if (blocked || this.paused()) {
      this.received();
      return;
    }
    const silent = now - this.last;
    if (silent >= this.timeout) {
      this.stop();
      this.onTimeout(new ConnectionError(`no message from the server for ${silent} ms (receiveTimeout ${this.timeout} ms): the connection is dead`, { code: 'ETIMEDOUT' }));
    } else if (silent >= this.timeout / 2 && !this.pinged) {
      this.pinged = true;
      this.ping();
    }
  }
}
