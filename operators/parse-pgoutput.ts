import { Observable, type OperatorFunction } from 'rxjs';
import type { PgoutputMessage } from '../src/pgoutput/messages';
import { PgoutputDecoder } from '../src/pgoutput/decoder';
import type { TypeOptions } from '../src/values/registry';
import type { ReplicationFrame } from '../src/protocol/frames';
import { directLogicalSource } from '../src/source/direct';

/** Options of {@link parsePgoutput}. */
export interface ParsePgoutputOptions {
  /** How column values decode (see docs/types.md). Default: what `pg` returns. */
  types?: TypeOptions;
}

/**
 * Decodes the XLogData frames of a pgoutput stream into typed messages (protocol v1 to v4) and
 * drops keepalives, which the source has already answered.
 *
 * Each subscription gets its own decoder, whose relation and type caches fill from the stream's
 * Relation and Type messages. `options.types` sets how rows decode column values (int8 as bigint,
 * timestamps as exact strings, parsers per type OID or name; see docs/types.md); values are decoded
 * only when read. Piped straight onto `logicalReplication()`, it decodes each message in place in
 * the socket chunk, with no frame object, payload view or RxJS hop per message between the two
 * (the source's flow control, `endLsn` and keepalive answers work as before); after any other
 * operator it decodes the frames it is given. A frame that cannot be decoded errors the Observable with a `ParseError` naming the
 * tag, LSN and byte offset; no message is skipped silently.
 * Follows "Logical Replication Message Formats".
 *
 * @example
 * logicalReplication(options).pipe(
 *   parsePgoutput(),
 *   filter((m): m is InsertMessage => m.type === 'insert'),
 * ).subscribe((m) => console.log(m.relation.name, m.new.toObject()));
 *
 * logicalReplication({ ...options, binary: true }).pipe(
 *   parsePgoutput({ types: { int8: 'bigint', timestamps: 'string', parsers: { hstore: parseHstore } } }),
 * );
 */
export function parsePgoutput(options: ParsePgoutputOptions = {}): OperatorFunction<ReplicationFrame, PgoutputMessage> {
  return (source) => {
    const direct = directLogicalSource(source);
    if (direct !== undefined) {
      return new Observable<PgoutputMessage>((subscriber) => {
        const decoder = new PgoutputDecoder({ types: options.types });
        return direct(subscriber, (buf, start, end, hi, lo) => {
          let msg: PgoutputMessage;
          try {
            msg = decoder.decodeFrom(buf, start, end, hi, lo);
          } catch (err) {
            subscriber.error(err);
            return;
          }
          subscriber.next(msg);
        });
      });
    }
    return new Observable<PgoutputMessage>((subscriber) => {
      // A registry per subscription: Type messages announce OIDs of the database this stream reads.
      // Stream Abort's form (with or without the abort LSN and time of `streaming: 'parallel'`) is
      // told by its length, which the negotiated protocol fixes: nothing for the user to say.
      const decoder = new PgoutputDecoder({ types: options.types });
      return source.subscribe({
        next(frame) {
          if (frame.type !== 'xlogdata') return;
          let msg: PgoutputMessage;
          try {
            msg = decoder.decode(frame.data, frame.walStart);
          } catch (err) {
            subscriber.error(err);
            return;
          }
          subscriber.next(msg);
        },
        error: (err) => subscriber.error(err),
        complete: () => subscriber.complete(),
      });
    });
  };
}
