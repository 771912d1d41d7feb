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
