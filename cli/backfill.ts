import { type OperatorFunction, tap } from 'rxjs';
import { backfill } from '../operators/backfill';
import type { TransactionEvent } from '../operators/buffer-transaction';
import { JSON_TYPE_OPTIONS, messageToJson } from '../src/json';
import type { PgoutputMessage } from '../src/pgoutput/messages';
import type { BackfillEvent } from '../src/snapshot/backfill-events';
import type { ConnectionOptions } from '../src/wire/config';
import type { LineWriter } from './line-writer';

/** Options of {@link backfillStage}: what `pg-walstream stream --backfill` passes. */
export interface BackfillStageOptions extends ConnectionOptions {
  slot: string;
  publications: string | readonly string[];
  /** `schema.table` (or `table` in `public`), in order. */
  tables: readonly string[];
  raw?: boolean;
  /** Rows per chunk. Default 1000. */
  chunkSize?: number;
}

/**
 * `pg-walstream stream --backfill schema.table`: the stage `runStream` places after
 * `bufferTransaction()`. It runs the `backfill` operator (docs/snapshot.md) and prints its rows as
 * JSON lines `{"type":"backfill","schema":…,"table":…,"new":{…}}`, typed as the stream's `new`,
 * framed by `{"type":"backfillStart",…}` and `{"type":"backfillEnd",…,"rows":n}`. The rows of a
 * chunk come right after the high watermark's transaction, before any later one. A chunk counts as
 * done (and the next is read, and its progress saved) once its lines are written, so an interrupted
 * run resumes after the last chunk written, and a finished backfill is not printed again.
 * The stream must carry logical messages: `--backfill` turns `--messages` on, so the watermark
 * messages (prefix `walstream.backfill`) appear as `message` lines too.
 */
export function backfillStage(options: BackfillStageOptions): (writer: LineWriter, feedback: unknown) => OperatorFunction<TransactionEvent, TransactionEvent | BackfillEvent> {
  return (writer, feedback) => (source) =>
    source.pipe(
      backfill({ ...options, tables: options.tables, types: JSON_TYPE_OPTIONS, feedback }),
      tap((event) => {
        switch (event.type) {
          case 'backfillStart':
            writer.push(`${JSON.stringify({ type: 'backfillStart', schema: event.schema, table: event.table, id: event.id, resumedAfterChunks: event.progress.chunks })}\n`);
            break;
          case 'backfillRows': {
            let lines = '';
            for (const row of event.rows) {
              lines += `${JSON.stringify(messageToJson({ type: 'backfill', relation: event.relation, new: row } as unknown as PgoutputMessage, { raw: options.raw }))}\n`;
            }
            if (lines !== '') writer.push(lines);
            break;
          }
          case 'backfillEnd':
            writer.push(`${JSON.stringify({ type: 'backfillEnd', schema: event.schema, table: event.table, id: event.id, rows: event.progress.rows })}\n`);
            break;
          default:
            break;
        }
      }),
    );
}
