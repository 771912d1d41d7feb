/**
 * Snapshot events carry no LSN, so `ackOnCommit` tells the snapshot source they are done through
 * this registry. Each event carries a `settleId` number (data, so a spread copy or
 * `structuredClone` of the event settles it too); the source registers a callback per id, and
 * `settleSnapshotEvent` runs it once. A source forgets its ids when it ends.
 */
const callbacks = new Map<number, () => void>();
let nextId = 1;

/** Registers `done` to run when the event carrying the returned id is settled. @internal */
export function onSettled(done: () => void): number {
  const id = nextId++;
  callbacks.set(id, done);
  return id;
}

/** Drops callbacks that will never run: the source that registered them ended. @internal */
export function forgetSettled(ids: Iterable<number>): void {
  for (const id of ids) callbacks.delete(id);
}

/**
 * Marks a snapshot event as done (its work finished): `ackOnCommit` calls it for every event that
 * reaches it; call it yourself when you consume snapshot events without `ackOnCommit`. Works on
 * copies of the event. Returns whether `event` is a snapshot event (it carries a `settleId`); a
 * second call for the same event does nothing.
 */
export function settleSnapshotEvent(event: unknown): boolean {
  if (typeof event !== 'object' || event === null) return false;
  const id = (event as { settleId?: unknown }).settleId;
  if (typeof id !== 'number') return false;
  const done = callbacks.get(id);
  if (done !== undefined) {
    callbacks.delete(id);
    done();
  }
  return true;
}
