/**
 * The order in which `bufferTransaction` emitted its events, so that `ackOnCommit` placed after a
 * `mergeMap` can tell whether every earlier event is done.
 *
 * Each subscription of `bufferTransaction` is an epoch (a new one after every reconnection); each
 * event it emits gets the next sequence number of its epoch. The tickets live in a WeakMap, so
 * events keep their plain shape and nothing leaks once they are gone.
 * @internal
 */
export class AckEpoch {
  private next = 0;
  /** Issues the next ticket of this epoch for `event`. */
  issue(event: object): void {
    tickets.set(event, { epoch: this, seq: this.next++ });
  }
}

export interface AckTicket {
  readonly epoch: AckEpoch;
  readonly seq: number;
}

const tickets = new WeakMap<object, AckTicket>();

/** The ticket `bufferTransaction` gave this event, if any. @internal */
export function ticketOf(event: unknown): AckTicket | undefined {
  return typeof event === 'object' && event !== null ? tickets.get(event) : undefined;
}
