import type { NatsConnection } from '@nats-io/transport-node';
import { type MonoTypeOperatorFunction, Observable } from 'rxjs';
import type { Transaction, TransactionEvent } from '../../operators/buffer-transaction';
import { ConfigurationError } from '../../src/errors';
import { transactionToWrite } from '../internal/events';
import type { RelationInfo } from '../../src/pgoutput/messages';
import { pgTimestampToIso } from '../../src/time';
import { type ChangeRecord, changeRecords, defaultPayload } from '../internal/records';
import { writeInOrder } from '../internal/write-in-order';
import { OrderedPublisher, type Outgoing, headerLine } from './publisher';
import { subjectToken, tableSubject } from './subject';

export { SinkError, UnsupportedEventError } from '../internal/errors';
export type { ChangeRecord } from '../internal/records';
export { subjectToken, tableSubject } from './subject';

/** Options of {@link jetstreamSink}. */
export interface JetStreamSinkOptions {
  /**
   * A NATS connection (`await connect({ servers })` from `@nats-io/transport-node`). The sink
   * publishes with its own reply inbox and PubAck tracking rather than `jetstream(nc).publish`,
   * which costs a request (and a timer) per message.
   */
  nc: NatsConnection;
  /** Subject prefix: changes go to `<prefix>.<schema>.<table>` (names encoded by `subjectToken`). */
  subjectPrefix: string;
  /** The stream that must capture the subjects (sent as `Nats-Expected-Stream`); a publish any other stream captures is refused. */
  stream?: string;
  /**
   * `change` (default): one message per change (one per table for a TRUNCATE), `Nats-Msg-Id`
   * `<commitLsn>:<index>`. `transaction`: one message per transaction on `<prefix>.transactions`,
   * `Nats-Msg-Id` `<commitLsn>`, payload a JSON array of the changes.
   */
  mode?: 'change' | 'transaction';
  /** Payload of a change message. Default: the change as `pg-walstream stream --raw` prints it, JSON. */
  payload?: (record: ChangeRecord, tx: Transaction) => Uint8Array | string;
  /** Messages published and awaiting their PubAck, at most, across transactions. Default 1024. */
  maxInFlight?: number;
  /** ms to wait for each PubAck. Default 5000. */
  timeout?: number;
  /** ms a message may keep failing (no leader, no responders, PubAck timeouts, refusals) before the sink errors. Default 60 000. */
  retryFor?: number;
  /** Called for each PubAck that reports a duplicate (a republish the server dropped). */
  onDuplicate?(): void;
}

/** Headers each message carries, all strings. */
export const JETSTREAM_HEADERS = {
  commitLsn: 'Walstream-Commit-Lsn',
  endLsn: 'Walstream-End-Lsn',
  xid: 'Walstream-Xid',
  commitTime: 'Walstream-Commit-Time',
  op: 'Walstream-Op',
  table: 'Walstream-Table',
  index: 'Walstream-Index',
} as const;

/**
 * Publishes each committed transaction into a NATS JetStream stream, then passes the event on
 * (the same object) once every PubAck of it has arrived: place it after `bufferTransaction` (and
 * `retryWithBackoff`) and before `ackOnCommit`, so the slot advances only past what the stream holds.
 *
 * - **Subjects:** `<subjectPrefix>.<schema>.<table>` per change (`mode: 'change'`), or
 *   `<subjectPrefix>.transactions` per transaction (`mode: 'transaction'`).
 * - **Exactly once:** `Nats-Msg-Id` is `<commitLsn>:<index>` (`<commitLsn>` per transaction), so
 *   the stream drops a republish after a crash or a failover, within its `duplicate_window`
 *   (default 2 min; raise it above your longest outage plus restart time: a replay older than the
 *   window is stored again).
 * - **Order:** messages are stored in commit order, and changes in their order within a
 *   transaction, also across leader changes (see `OrderedPublisher`): so per subject (table) and
 *   per key. Keep this sink the stream's only publisher: the order check is stream-wide.
 * - **Headers:** {@link JETSTREAM_HEADERS}: commit and end LSN (`X/Y`), xid, commit time (ISO 8601,
 *   µs), operation, `schema.table`, index.
 * - **Backpressure:** at most `maxInFlight` messages await a PubAck; events wait meanwhile, nothing
 *   is acknowledged, and the source's flow control pauses the socket.
 *
 * Errors: {@link SinkError} when a message keeps failing for `retryFor` ms, or at once when it
 * exceeds the server's `max_payload` (its `lsn` is the transaction's commit LSN; nothing from that
 * transaction on is acknowledged); {@link UnsupportedEventError} for transaction chunks and prepared
 * transactions. Events that are not committed transactions pass through after the earlier ones.
 *
 * @example
 * const nc = await connect({ servers: ['nats://127.0.0.1:4222'] });
 * logicalReplication({ ...conn, slot: 'app', publications: 'app', feedback })
 *   .pipe(parsePgoutput(), bufferTransaction(), retryWithBackoff(),
 *     jetstreamSink({ nc, subjectPrefix: 'cdc', stream: 'CDC' }), ackOnCommit(feedback))
 *   .subscribe();
 */
export function jetstreamSink(options: JetStreamSinkOptions): MonoTypeOperatorFunction<TransactionEvent> {
  if (!options.subjectPrefix || /[\s*>]/.test(options.subjectPrefix) || options.subjectPrefix.startsWith('.') || options.subjectPrefix.endsWith('.')) {
    throw new ConfigurationError(`invalid JetStream subject prefix ${JSON.stringify(options.subjectPrefix)}`);
  }
  const mode = options.mode ?? 'change';
  const payload = options.payload ?? ((record: ChangeRecord) => defaultPayload(record));
  const window = options.maxInFlight ?? 1024;
  const subjects = new WeakMap<RelationInfo, { subject: string; table: string }>();
  const targetOf = (r: ChangeRecord) => {
    let t = subjects.get(r.relation);
    if (t === undefined) {
      t = { subject: tableSubject(options.subjectPrefix, r.schema, r.table), table: headerLine(JETSTREAM_HEADERS.table, `${r.schema}.${r.table}`) };
      subjects.set(r.relation, t);
    }
    return t;
  };
  return (source) =>
    new Observable<TransactionEvent>((subscriber) => {
      const publisher = new OrderedPublisher(options.nc, {
        window,
        timeout: options.timeout ?? 5000,
        retryFor: options.retryFor ?? 60_000,
        stream: options.stream,
        onDuplicate: options.onDuplicate,
      });
      const write = (event: TransactionEvent): Promise<void> => {
        const tx = transactionToWrite(event, 'jetstream');
        if (tx === undefined) return Promise.resolve();
        const records = changeRecords(tx);
        if (records.length === 0) return Promise.resolve();
        const lsn = tx.commitLsn.toString();
        // The transaction's header lines, built once for all its messages.
        const common =
          headerLine(JETSTREAM_HEADERS.commitLsn, lsn) +
          headerLine(JETSTREAM_HEADERS.endLsn, tx.endLsn.toString()) +
          headerLine(JETSTREAM_HEADERS.xid, String(tx.xid)) +
          headerLine(JETSTREAM_HEADERS.commitTime, pgTimestampToIso(tx.commitTime));
        if (mode === 'transaction') {
          const data = `[${records.map((r) => String(payload(r, tx))).join(',')}]`;
          return publisher.publishAll([{ subject: `${options.subjectPrefix}.transactions`, msgId: lsn, data, headers: common }], tx.commitLsn);
        }
        const messages: Outgoing[] = new Array(records.length);
        for (let i = 0; i < records.length; i++) {
          const r = records[i];
          const target = targetOf(r);
          messages[i] = {
            subject: target.subject,
            msgId: `${lsn}:${i}`,
            data: payload(r, tx),
            headers: `${common}${OP_LINES[r.op]}${target.table}${JETSTREAM_HEADERS.index}: ${i}\r\n`,
          };
        }
        return publisher.publishAll(messages, tx.commitLsn);
      };
      // Transactions queue in order behind the publisher's message window, which is the real bound.
      const subscription = writeInOrder(write, Math.max(1, window))(source).subscribe(subscriber);
      return () => {
        subscription.unsubscribe();
        publisher.close();
      };
    });
}

const OP_LINES = {
  insert: headerLine(JETSTREAM_HEADERS.op, 'insert'),
  update: headerLine(JETSTREAM_HEADERS.op, 'update'),
  delete: headerLine(JETSTREAM_HEADERS.op, 'delete'),
  truncate: headerLine(JETSTREAM_HEADERS.op, 'truncate'),
} as const;
