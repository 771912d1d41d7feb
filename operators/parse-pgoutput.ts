import { Observable, type OperatorFunction } from 'rxjs';
import type { PgoutputMessage } from '../src/pgoutput/messages';
import { type DecoderOptions, PgoutputDecoder } from '../src/pgoutput/decoder';
import type { ReplicationFrame } from '../src/protocol/frames';

/**
 * Decodes the XLogData frames of a pgoutput stream into typed messages (protocol v1 to v4) and
 * drops keepalives, which the source has already answered.
 *
 * Each subscription gets its own decoder, whose relation cache fills from the stream's Relation
 * messages. A frame that cannot be decoded errors the Observable with a `ParseError` naming the
 * tag, LSN and byte offset; no message is skipped silently.
 * Follows "Logical Replication Message Formats".
 *
 * `options.abortInfo`: pass `true` with `streaming: 'parallel'` (protocol 4), `false` otherwise,
 * to have a truncated Stream Abort rejected; left out, its form is told by its length.
 *
 * @example
 * logicalReplication(options).pipe(
 *   parsePgoutput(),
 *   filter((m): m is InsertMessage => m.type === 'insert'),
 * ).subscribe((m) => console.log(m.relation.name, m.new.rawObject()));
 */
export function parsePgoutput(options?: DecoderOptions): OperatorFunction<ReplicationFrame, PgoutputMessage> {
  return (source) =>
    new Observable<PgoutputMessage>((subscriber) => {
      const decoder = new PgoutputDecoder(options);
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
}
