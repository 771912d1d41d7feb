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
