/**
 * Snapshot events carry no LSN, so `ackOnCommit` tells the snapshot source they are done through
 * this registry: the source registers a callback per event it emits, `settleSnapshotEvent` runs it
 * once. The WeakMap keeps events plain and forgets them once they are gone.
 */
const callbacks = new WeakMap<object, () => void>();

/** Registers `done` to run when `event` is settled. @internal */
export function onSettled(event: object, done: () => void): void {
  callbacks.set(event, done);
}

/**
 * Marks a snapshot event as done (its work finished): `ackOnCommit` calls it for every event that
 * reaches it; call it yourself when you consume snapshot events without `ackOnCommit`. Any other
 * value, and a second call, are ignored.
 */
export function settleSnapshotEvent(event: unknown): void {
  if (typeof event !== 'object' || event === null) return;
  const done = callbacks.get(event);
  if (done === undefined) return;
  callbacks.delete(event);
  done();
}
