import { Observable, type OperatorFunction, type Subscription, identity, tap } from 'rxjs';
import { ackLsnOf, ackOnCommit } from '../operators/ack-on-commit';
import { type TransactionEvent, bufferTransaction } from '../operators/buffer-transaction';
import { parsePgoutput } from '../operators/parse-pgoutput';
import { PgError } from '../src/errors';
import { JSON_TYPE_OPTIONS } from '../src/json';
import { Lsn } from '../src/lsn';
import type { PgoutputMessage } from '../src/pgoutput/messages';
import type { ReplicationFrame } from '../src/protocol/frames';
import { LsnFeedback } from '../src/source/feedback';
import { type LogicalReplicationOptions, logicalReplication } from '../src/source/logical';
import { encodeJsonLine } from './json-encoder';
import { LineWriter } from './line-writer';
import type { OutputSink } from './output';
import type { StreamProgress } from './progress';
import { whenWritten } from './when-written';

/**
 * The CLI's flow-control window: few enough finished-but-unwritten transactions that the queued
 * lines stay small (the process stays within 64 MB), enough that writes and fsyncs are batched.
 */
export const CLI_FLOW_CONTROL = Object.freeze({ maxPendingTransactions: 1000, maxPendingBytes: 8 << 20 });

export interface StreamCommandOptions extends LogicalReplicationOptions {
  /** Stop after the transaction whose end LSN reaches this position (pg_recvlogical -E). */
  endpos?: Lsn;
  /** Where JSON lines go (see openOutput). */
  output: OutputSink;
  /** Most milliseconds between fsyncs of a regular-file output; 0 = never (pg_recvlogical -F). Default 10000. */
  fsyncInterval?: number;
  /** Resolves to stop cleanly (Ctrl-C). */
  stopSignal?: Promise<void>;
  /** Print column values as sent (text, or base64 for binary) instead of typed values. */
  raw?: boolean;
  /** Turns a message into its output line, newline included. Default: the JSON line of docs/json-output.md. */
  format?: (msg: PgoutputMessage) => string;
  /** Told about every frame and every durable transaction (the progress line on a terminal). */
  progress?: StreamProgress;
  /** A stage after `bufferTransaction()` that may push lines (`--backfill`, see cli/backfill.ts). */
  stage?: (writer: LineWriter, feedback: LsnFeedback) => OperatorFunction<TransactionEvent, unknown>;
}

/** What was open when the stream stopped part way through a transaction. */
interface OpenTransaction {
  xid: number;
  lsn: Lsn;
  finalLsn: Lsn | undefined;
}

/**
 * Streams a slot as JSON lines until the end position, a stop signal, or an error.
 *
 * The lines are written in large batches; `bufferTransaction()` and `ackOnCommit()` acknowledge a
 * transaction once {@link whenWritten} has seen its last line written, and fsync'd when the output
 * is a regular file and `fsyncInterval` is not 0. A slow output therefore delays
 * acknowledgments, and the source's flow control ({@link CLI_FLOW_CONTROL}) stops reading the
 * socket. An interrupted run resumes without losing a transaction (it may repeat the ones not yet
 * acknowledged). A stream that stops inside a transaction ends with an `incomplete` line.
 *
 * @throws {OutputError} when the output cannot be written; nothing unwritten is acknowledged.
 * @throws {StreamRefusedError} when the server fails part way through a transaction.
 */
export function runStream(options: StreamCommandOptions): Promise<void> {
  const feedback = options.feedback ?? new LsnFeedback();
  const raw = options.raw === true;
  const format = options.format;
  const endpos = options.endpos;
  const writer = new LineWriter(options.output, { fsyncInterval: options.fsyncInterval });
  const progress = options.progress;
  const flowControl = options.flowControl ?? CLI_FLOW_CONTROL;
  const syncAt = flowControl === false ? 500 : Math.max(1, Math.floor((flowControl.maxPendingTransactions ?? 1000) / 2));
  let open: OpenTransaction | undefined;
  let block: number | undefined; // xid of the open Stream Start block
  let stopping = false;

  return new Promise<void>((resolve, reject) => {
    let subscription: Subscription | undefined;
    let settled = false;

    /** Writes what is queued, lets the acknowledgments through, then ends the stream (CopyDone carries them). */
    const finish = (err?: unknown) => {
      if (stopping) return;
      stopping = true;
      if (err === undefined && open !== undefined) writer.push(incompleteLine(open, 'stopped'));
      else if (err !== undefined && !(err as { target?: unknown }).target) {
        const cut = open ?? (block === undefined ? undefined : { xid: block, lsn: Lsn.ZERO, finalLsn: undefined });
        if (cut !== undefined) {
          err = explainRefusal(err, cut, options);
          writer.push(incompleteLine(cut, (err as Error).message));
        }
      }
      writer.end().then(
        () => done(err),
        (writeErr: unknown) => done(err ?? writeErr),
      );
    };

    const done = (err?: unknown) => {
      if (settled) return;
      settled = true;
      subscription?.unsubscribe();
      progress?.stop();
      if (err === undefined) resolve();
      else reject(err);
    };

    /** Frames: the end position and the progress line see keepalives, which parsePgoutput drops. */
    const gate = (source: Observable<ReplicationFrame>) =>
      new Observable<ReplicationFrame>((subscriber) =>
        source.subscribe({
          next(frame) {
            if (stopping) return;
            progress?.frame(frame);
            const inTx = open !== undefined || block !== undefined;
            if (frame.type === 'keepalive') {
              // Nothing before the server's WAL end is still to come: endpos is reached.
              if (endpos !== undefined && !inTx && frame.walEnd.value >= endpos.value) finish();
              return;
            }
            // A transaction (or message) that starts past endpos is not written, as pg_recvlogical -E does.
            if (endpos !== undefined && !inTx && frame.walStart.value > endpos.value) return finish();
            subscriber.next(frame);
          },
          error: (err) => subscriber.error(err),
          complete: () => subscriber.complete(),
        }),
      );

    const write = (msg: PgoutputMessage) => {
      if (stopping) return;
      switch (msg.type) {
        case 'begin':
          open = { xid: msg.xid, lsn: msg.lsn, finalLsn: msg.finalLsn };
          break;
        case 'beginPrepare':
          open = { xid: msg.xid, lsn: msg.lsn, finalLsn: msg.prepareLsn };
          break;
        case 'commit':
        case 'prepare':
          open = undefined;
          break;
        case 'streamStart':
          block = msg.xid;
          break;
        case 'streamStop':
          block = undefined;
          break;
        default:
          break;
      }
      if (format !== undefined) writer.push(format(msg));
      else if (writer.accepting) {
        const start = writer.out.pos;
        try {
          encodeJsonLine(writer.out, msg, raw);
        } catch (err) {
          writer.out.pos = start; // no half line
          throw err;
        }
        writer.endLine();
      }
      const end = ackLsnOf(msg);
      if (end !== undefined && endpos !== undefined && end.value >= endpos.value) finish();
    };

    subscription = logicalReplication({ ...options, feedback, flowControl })
      .pipe(
        gate,
        parsePgoutput({ types: JSON_TYPE_OPTIONS }),
        tap(write),
        bufferTransaction({ onOverflow: 'chunk', maxBytes: 4 << 20, maxChanges: 20_000 }),
        (options.stage?.(writer, feedback) ?? identity) as OperatorFunction<TransactionEvent, TransactionEvent>,
        whenWritten(writer, syncAt),
        ackOnCommit(feedback),
        tap((event) => progress?.done(event)),
      )
      .subscribe({ error: (err: unknown) => finish(err) });
    if (settled) subscription.unsubscribe();
    void options.stopSignal?.then(() => finish());
  });
}

/** The last line of a transaction the stream stopped inside. */
function incompleteLine(tx: OpenTransaction, reason: string): string {
  return `${JSON.stringify({ type: 'incomplete', xid: tx.xid, lsn: tx.lsn.isZero() ? undefined : tx.lsn.toString(), reason })}\n`;
}

/** The server refused a transaction part way through (its Begin was written, its Commit never came). */
export class StreamRefusedError extends Error {
  override name = 'StreamRefusedError';
  constructor(
    message: string,
    readonly xid: number,
    cause: unknown,
  ) {
    super(message, { cause });
  }
}

/** Turns a server error inside a transaction into one that says what to do. */
function explainRefusal(err: unknown, tx: OpenTransaction, options: StreamCommandOptions): unknown {
  if (!(err instanceof PgError)) return err;
  const where = tx.finalLsn === undefined ? '' : ` (commit at ${tx.finalLsn.toString()})`;
  const skip = tx.finalLsn === undefined ? '' : `, or skip this transaction with --start ${Lsn.from(tx.finalLsn.value + 1n).toString()}`;
  const fix =
    err.code === '42883' && options.binary
      ? `; stream in text mode (without --binary)${skip}`
      : skip === '' ? '' : `; to go on without it${skip.slice(1)}`;
  return new StreamRefusedError(`the server stopped sending transaction ${tx.xid}${where} part way: ${err.message} (SQLSTATE ${err.code})${fix}`, tx.xid, err);
}
