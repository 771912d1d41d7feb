import type { Writable } from 'node:stream';
import { JSON_TYPE_OPTIONS, messageToJson } from '../json';
import { Lsn } from '../lsn';
import { PgoutputDecoder } from '../pgoutput/decoder';
import type { PgoutputMessage } from '../pgoutput/messages';
import type { ReplicationFrame } from '../protocol/frames';
import { LsnFeedback } from '../source/feedback';
import { type LogicalReplicationOptions, logicalReplication } from '../source/logical';
import { writeAsync } from './output';

export interface StreamCommandOptions extends LogicalReplicationOptions {
  /** Stop after the transaction whose end LSN reaches this position (pg_recvlogical -E). */
  endpos?: Lsn;
  /** Where JSON lines go. */
  output: Writable;
  /** Resolves to stop cleanly (Ctrl-C). */
  stopSignal?: Promise<void>;
  /** Print column values as sent (text, or base64 for binary) instead of typed values. */
  raw?: boolean;
  /** Turns a message into the printed object. Default: messageToJson (typed values, or raw with `raw`). */
  format?: (msg: PgoutputMessage) => unknown;
}

/** Messages that end a transaction, with the LSN to acknowledge once they are written. */
function endOf(msg: PgoutputMessage): Lsn | undefined {
  switch (msg.type) {
    case 'commit':
    case 'streamCommit':
    case 'prepare':
    case 'streamPrepare':
    case 'commitPrepared':
      return msg.endLsn;
    case 'rollbackPrepared':
      return msg.rollbackEndLsn;
    default:
      return undefined;
  }
}

/**
 * Streams a slot as JSON lines until the end position, a stop signal, or an error. A transaction's
 * end LSN is acknowledged only after its last line has been written, so an interrupted run
 * resumes without losing a transaction (it may repeat the one it was writing).
 */
export function runStream(options: StreamCommandOptions): Promise<void> {
  const feedback = options.feedback ?? new LsnFeedback();
  // With streaming = parallel every Stream Abort carries its abort LSN and time.
  const decoder = new PgoutputDecoder({ types: JSON_TYPE_OPTIONS, abortInfo: options.streaming === 'parallel' ? true : undefined });
  const raw = options.raw === true;
  const format = options.format ?? ((msg: PgoutputMessage) => messageToJson(msg, { raw }));
  const endpos = options.endpos;
  let inTransaction = false;
  let pending: Promise<void> = Promise.resolve();

  return new Promise<void>((resolve, reject) => {
    let finished = false;
    const finish = (err?: unknown) => {
      if (finished) return;
      finished = true;
      // Everything queued is written and acknowledged before CopyDone carries the final position.
      pending.then(
        () => {
          subscription.unsubscribe();
          if (err === undefined) resolve();
          else reject(err);
        },
        (writeErr: unknown) => {
          subscription.unsubscribe();
          reject(err ?? writeErr);
        },
      );
    };

    const onFrame = (frame: ReplicationFrame) => {
      if (finished) return;
      if (frame.type === 'keepalive') {
        // Nothing before the server's WAL end is still to come: endpos is reached.
        if (endpos !== undefined && !inTransaction && frame.walEnd.value >= endpos.value) finish();
        return;
      }
      // A transaction (or message) that starts past endpos is not written, as pg_recvlogical -E does;
      // otherwise it would depend on whether a keepalive came first.
      if (endpos !== undefined && !inTransaction && frame.walStart.value > endpos.value) return finish();
      const msg = decoder.decode(frame.data, frame.walStart);
      if (msg.type === 'begin' || msg.type === 'beginPrepare') inTransaction = true;
      const line = `${JSON.stringify(format(msg))}\n`;
      const end = endOf(msg);
      pending = pending.then(() => writeAsync(options.output, line));
      // A non-transactional message is done once written; acknowledging it keeps a stream of
      // heartbeats from holding the slot (and the source's flow-control window) forever.
      if (msg.type === 'message' && !msg.transactional) pending = pending.then(() => feedback.acknowledge(msg.messageLsn));
      if (end !== undefined) {
        inTransaction = false;
        pending = pending.then(() => feedback.acknowledge(end));
        if (endpos !== undefined && end.value >= endpos.value) finish();
      }
    };

    const subscription = logicalReplication({ ...options, feedback }).subscribe({
      next: (frame) => {
        try {
          onFrame(frame);
        } catch (err) {
          finish(err);
        }
      },
      error: (err: unknown) => {
        finished = true;
        pending.finally(() => reject(err));
      },
    });
    options.stopSignal?.then(() => finish());
  });
}
