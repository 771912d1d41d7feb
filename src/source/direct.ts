import type { Observable, Subscriber, TeardownLogic } from 'rxjs';

// The in-place path from the logical source to the pgoutput decoder, in a module of its own so that
// importing the operators does not load the connection code.

/**
 * Receives one XLogData payload in place: `buf[start, end)` of the socket chunk, sent at the
 * position whose 32-bit halves are `walStartHi`/`walStartLo`. The bytes stay valid.
 * @internal
 */
export type XLogDataHandler = (buf: Buffer, start: number, end: number, walStartHi: number, walStartLo: number) => void;

/**
 * Subscribes to a logical source without frames: every XLogData payload goes to `onXLogData`
 * (keepalives are answered and not passed on), and `subscriber` gets only error and complete.
 * @internal
 */
export type DirectLogicalSource = (subscriber: Subscriber<never>, onXLogData: XLogDataHandler) => TeardownLogic;

/** @internal The property under which `logicalReplication()`'s Observable carries its in-place form. */
export const DIRECT = Symbol('pg-walstream.directLogicalSource');

/**
 * The in-place form of a source made by `logicalReplication()`, when `source` is one (piped
 * straight into an operator such as `parsePgoutput()`); undefined for any other Observable.
 * It lets the operator decode from the socket chunk, without a frame object, a payload view or an
 * RxJS hop per message. @internal
 */
export function directLogicalSource(source: Observable<unknown>): DirectLogicalSource | undefined {
  return (source as { [DIRECT]?: DirectLogicalSource })[DIRECT];
}

