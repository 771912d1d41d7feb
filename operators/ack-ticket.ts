import { Lsn } from '../src/lsn';

/**
 * The place of an event in the order `bufferTransaction` emitted it, carried *in* the event (its
 * `ticket` property), so that it survives a spread copy, `structuredClone` or a trip through a
 * worker, and `ackOnCommit` placed after a `mergeMap` can tell whether every earlier event is done.
 *
 * - `epoch`: one per subscription of `bufferTransaction` (a new one after every reconnection),
 *   unique in this process;
 * - `seq`: 0, 1, 2… in emission order within the epoch;
 * - `limit`: set while `bufferTransaction` holds a prepared transaction (until its COMMIT or
 *   ROLLBACK PREPARED): the lowest such PREPARE's LSN. The slot must not be confirmed past it
 *   while this event is the last one done, or a restarted server would skip the held transaction.
 */
export interface AckTicket {
  readonly epoch: number;
  readonly seq: number;
  readonly limit?: Lsn;
}

let nextEpoch = 1;

/** Issues the tickets of one subscription of `bufferTransaction`. @internal */
export class AckEpoch {
  readonly id = nextEpoch++;
  private next = 0;
  /** The next ticket of this epoch. */
  issue(limit: Lsn | undefined): AckTicket {
    const seq = this.next++;
    return limit === undefined ? { epoch: this.id, seq } : { epoch: this.id, seq, limit };
  }
}

/**
 * The ticket an event carries, checked for shape, with `limit` rebuilt as an {@link Lsn} (a
 * `structuredClone` keeps its halves but not its class); undefined when it carries none.
 * @internal
 */
export function ticketOf(event: unknown): AckTicket | undefined {
  if (typeof event !== 'object' || event === null) return undefined;
  const t = (event as { ticket?: unknown }).ticket as { epoch?: unknown; seq?: unknown; limit?: unknown } | undefined;
  if (typeof t !== 'object' || t === null || !Number.isSafeInteger(t.epoch) || !Number.isSafeInteger(t.seq)) return undefined;
  // The common case, a ticket as issued (no limit, or an Lsn one): itself, checked, no copy.
  if (t.limit === undefined || t.limit instanceof Lsn) return t as AckTicket;
  const limit = asLsn(t.limit);
  return limit === undefined ? { epoch: t.epoch as number, seq: t.seq as number } : { epoch: t.epoch as number, seq: t.seq as number, limit };
}

/**
 * An {@link Lsn}, or anything that kept its halves (`hi`, `lo`: what a `structuredClone` of an Lsn
 * keeps) or a `value` through a copy, as an Lsn. @internal
 */
export function asLsn(value: unknown): Lsn | undefined {
  if (value instanceof Lsn) return value;
  if (typeof value !== 'object' || value === null) return undefined;
  const { hi, lo } = value as { hi?: unknown; lo?: unknown };
  if (isU32(hi) && isU32(lo)) return Lsn.fromParts(hi, lo);
  const v = (value as { value?: unknown }).value;
  return typeof v === 'bigint' && v >= 0n && v <= 0xffffffffffffffffn ? Lsn.from(v) : undefined;
}

function isU32(n: unknown): n is number {
  return typeof n === 'number' && Number.isInteger(n) && n >= 0 && n <= 0xffffffff;
}
