import { Observable, type Subscriber, type TeardownLogic } from 'rxjs';
import { ConnectionError, PgError, ProtocolError, SlotLostError, type WalstreamError, streamFailure } from '../errors';
import { type CreateReplicationSlotOptions, createSlotCommand } from '../control/client';
import { Lsn } from '../lsn';
import {
  type ReplicationFrame,
  type XLogData,
  TAG_XLOG_DATA,
  WAL_END,
  WAL_START,
  XLOG_HEADER_SIZE,
  decodeReplicationFrame,
  encodeStandbyStatusUpdate,
  truncatedXLogData,
  u32At,
} from '../protocol/frames';
import { nowPgTimestamp } from '../time';
import { type ConnectionOptions, resolveConfig } from '../wire/config';
import { PgConnection } from '../wire/connection';
import { TAG_STREAM_START, TAG_STREAM_STOP } from '../pgoutput/tags';

/** pgoutput's Begin and Begin Prepare tags ("Logical Replication Message Formats"), which open a transaction for `endLsn`. */
const TAG_BEGIN = 0x42; // B
const TAG_BEGIN_PREPARE = 0x62; // b
import { DEFAULT_RECEIVE_TIMEOUT, ReceiveWatchdog, type ReceiveTimeoutOptions, endCopyBoth, slotReleased, trackSlotRelease } from './copy-both';
import { LsnFeedback } from './feedback';
import { type FlowControlOptions, FlowWindow } from './flow-control';
import { DIRECT, type DirectLogicalSource, type XLogDataHandler } from './direct';
import { type ObservabilityOptions, observerOf } from './observer';
import { describeTarget } from '../wire/tls';
import { type PgoutputOptions, startLogicalReplicationCommand } from './start-replication';

/** Options of {@link logicalReplication}. */
export interface LogicalReplicationOptions extends ConnectionOptions, PgoutputOptions, ReceiveTimeoutOptions, ObservabilityOptions {
  /** The logical replication slot (created beforehand, e.g. with `ReplicationClient.createReplicationSlot`). */
  slot: string;
  /**
   * Where to start. Default: `feedback.acknowledged`, so a resubscription resumes after the work
   * already done. The server starts at the later of this and the slot's `confirmed_flush_lsn`.
   */
  startLsn?: Lsn | string;
  /**
   * Bounded replay: where to stop, as pg_recvlogical's `--endpos` and the CLI's `--endpos` do. The
   * Observable completes after the transaction (or non-transactional message) that reaches this
   * LSN, whose commit end LSN is at or past it. It also completes, emitting nothing more, when the
   * next transaction starts past it, or when a keepalive's WAL end shows that the server has sent
   * everything up to it outside a transaction (no transaction reaches it then; pg_recvlogical ends
   * too). Transactions are sent at their commit, so one open across `endLsn` is emitted whole if its
   * commit arrives before a keepalive past `endLsn`, and is otherwise left in the slot, never cut.
   * With a `feedback`, it completes once everything emitted is finished (`feedback.finished`),
   * so the final standby status update confirms it; frames after the end are not emitted, and the
   * slot sends them again to the next stream. Default: none, stream until unsubscribed.
   */
  endLsn?: Lsn | string;
  /** Where the consumer acknowledges finished work; reported as flushed and applied. Default: a fresh one. */
  feedback?: LsnFeedback;
  /**
   * Milliseconds between standby status updates, sent whether or not data flows, and also while
   * flow control has paused reading. Default 10000, and never more than a third of the server's
   * `wal_sender_timeout` (read with SHOW on connect), so a paused stream is not timed out.
   * 0 turns the regular updates off, like `pg_recvlogical -s 0`: the source then sends only what
   * the protocol needs (replies the server asks for, updates after acknowledgments and on stop, and
   * one every third of `wal_sender_timeout` while flow control has paused reading).
   */
  statusInterval?: number;
  /**
   * Milliseconds after the acknowledged LSN advances before a standby status update reports it
   * (acknowledgments within this window go in one update). Default 100; 0 sends on the next turn
   * of the event loop. The slot's `confirmed_flush_lsn` then follows the consumer closely, so a
   * restarted consumer receives again only what it had not acknowledged (or acknowledged in the
   * last few ms). A last update is also sent when the stream is stopped.
   */
  statusDelay?: number;
  /**
   * When every finished unit (transaction, prepared transaction's outcome, non-transactional
   * message) received before a primary keepalive has been acknowledged, confirm up to the
   * keepalive's WAL end. Without it an idle slot (no published changes) holds WAL forever and
   * makes a fast server shutdown wait. Data that needs no acknowledgment does not hold it back:
   * an aborted streamed transaction, an empty one, or one still in progress. Safe because a
   * keepalive's WAL end is never past the start of a record the server has not finished sending,
   * and on restart the server skips only transactions whose commit lies before
   * `confirmed_flush_lsn`. While `bufferTransaction` holds a prepared transaction and everything
   * else is done, replies to keepalives report the WAL end as written and no flush position, so
   * a fast shutdown completes without moving the slot past the PREPARE.
   * Default true.
   */
  confirmIdle?: boolean;
  /** Milliseconds to wait for the server's end of stream after CopyDone, before closing anyway. Default 2000. */
  endTimeout?: number;
  /**
   * Create the slot on the streaming connection before START_REPLICATION. A permanent slot that
   * already exists (SQLSTATE 42710) is used as it is. A temporary slot lives only as long as this
   * connection, so a resubscription after progress fails with {@link SlotLostError} instead of
   * silently skipping the WAL written in between.
   */
  createSlot?: boolean | CreateReplicationSlotOptions;
  /**
   * Flow control: stop reading from the socket while too much finished work is unacknowledged, so
   * that TCP and the server's WAL hold the backlog of a slow consumer instead of our heap; resume
   * once acknowledgments bring it down to half. Counts finished transactions (Commit, Stream
   * Commit, Prepare, Commit/Rollback Prepared) and non-transactional messages, never a transaction
   * still being received, so one transaction larger than the window cannot deadlock.
   * Standby status updates keep going on the `statusInterval` timer while reading is paused (at
   * least every third of `wal_sender_timeout`), so the walsender does not time the stream out.
   * A consumer that never acknowledges (a `filter` before `ackOnCommit`, say) stalls the stream
   * once the window is full.
   *
   * Default: `{ maxPendingTransactions: 1000, maxPendingBytes: 64 MiB }` when you pass `feedback`
   * (someone acknowledges), `false` (off) when you don't.
   */
  flowControl?: FlowControlOptions | false;
}

/**
 * Streams a logical replication slot as raw replication frames: a cold Observable that connects
 * on subscribe and ends the stream with CopyDone on unsubscribe.
 * Follows "Streaming Replication Protocol" (START_REPLICATION ... LOGICAL, XLogData, primary
 * keepalive, standby status update). The source answers keepalives that request a reply at once
 * and sends a standby status update every `statusInterval` ms with `feedback.acknowledged` as the
 * flushed position.
 *
 * Errors: {@link PgError} from the server (42704 missing slot, 28P01 wrong password, 55006 slot in
 * use, 57P01 server shutdown), {@link ConnectionError} when the connection breaks or the server
 * ends the stream, {@link ParseError} for a malformed frame, {@link LsnFormatError} for a
 * malformed `startLsn` or `endLsn`.
 *
 * It completes only with `endLsn` (bounded replay, like pg_recvlogical's `--endpos`):
 * `logicalReplication({ ...options, endLsn: '0/3000060' })` replays the slot up to that position.
 *
 * @example
 * const feedback = new LsnFeedback();
 * logicalReplication({ connectionString: url, slot: 'app', publications: ['app'], feedback })
 *   .pipe(parsePgoutput())
 *   .subscribe((msg) => console.log(msg.type, msg.lsn.toString()));
 */
export function logicalReplication(options: LogicalReplicationOptions): Observable<ReplicationFrame> {
  const source = new Observable<ReplicationFrame>((subscriber) => streamLogical(options, subscriber, undefined));
  const direct: DirectLogicalSource = (subscriber, onXLogData) => streamLogical(options, subscriber, onXLogData);
  Object.defineProperty(source, DIRECT, { value: direct });
  return source;
}

/** The source's work for one subscriber: frames to `subscriber.next`, or payloads to `direct`. */
function streamLogical(options: LogicalReplicationOptions, subscriber: Subscriber<ReplicationFrame> | Subscriber<never>, direct: XLogDataHandler | undefined): TeardownLogic {
  {
    const config = resolveConfig(options);
    const feedback = options.feedback ?? new LsnFeedback();
    const statusInterval = options.statusInterval ?? 10_000;
    const statusDelay = options.statusDelay ?? 100;
    const confirmIdle = options.confirmIdle ?? true;
    let conn: PgConnection | undefined;
    let timer: NodeJS.Timeout | undefined;
    let streaming = false;
    let done = false;
    // Highest WAL position received, as halves: the hot path compares numbers, and the Lsn is built
    // only for a status update.
    let writtenHi = 0;
    let writtenLo = 0;
    const writtenLsn = () => Lsn.fromParts(writtenHi, writtenLo);
    const raiseWritten = (l: Lsn) => {
      if (Lsn.after(l.hi, l.lo, writtenLsn())) {
        writtenHi = l.hi;
        writtenLo = l.lo;
      }
    };
    let start = Lsn.ZERO; // where this stream started
    let idleConfirmed = Lsn.ZERO;
    // The last keepalive's WAL end, and the last finished unit received before it.
    let keepalive: { walEnd: Lsn; unitsBefore: bigint } | undefined;
    let heldIdle = false; // everything before the keepalive is finished, but a held PREPARE keeps the acknowledgment lower
    let serverEnded: (() => void) | undefined;
    let statusTimer: NodeJS.Timeout | undefined;
    const flowOptions = options.flowControl ?? (options.feedback === undefined ? false : {});
    const paces = flowOptions !== false;
    // Also without flow control: it tells which finished units were received, for idle confirmation.
    const flow = new FlowWindow(flowOptions === false ? { maxPendingTransactions: Infinity, maxPendingBytes: Infinity } : flowOptions);
    const observer = observerOf(options);
    // Bounded replay (endLsn): whether a transaction or stream block is open, the end of the last
    // unit emitted, and whether the end was reached (nothing more is emitted then).
    const endLsn = options.endLsn === undefined ? undefined : typeof options.endLsn === 'string' ? Lsn.parse(options.endLsn) : options.endLsn;
    let inTransaction = false;
    // The end of the last unit emitted, as halves (no bigint per transaction).
    let lastEmittedHi = 0;
    let lastEmittedLo = 0;
    let ending = false;
    /** Completes once the end is reached and, with the user's feedback, everything emitted is finished. */
    const completeAtEnd = () => {
      if (!ending || done) return;
      if (options.feedback !== undefined && Lsn.after(lastEmittedHi, lastEmittedLo, feedback.finished)) return;
      subscriber.complete(); // runs the teardown below: final status update, then CopyDone
    };
    const reachEnd = () => {
      ending = true;
      completeAtEnd();
    };

    /** Confirms the last keepalive's WAL end once every finished unit received before it is acknowledged. */
    const checkIdle = () => {
      if (!confirmIdle || keepalive === undefined) return;
      const before = keepalive.unitsBefore;
      heldIdle = false;
      if (feedback.acknowledged.value >= before) {
        if (keepalive.walEnd.value > idleConfirmed.value) idleConfirmed = keepalive.walEnd;
        raiseWritten(keepalive.walEnd);
      } else if (feedback.finished.value >= before) heldIdle = true;
    };

    let subscriptions: Array<{ unsubscribe(): void }> = [];

    /**
     * A standby status update. The flushed position is what was acknowledged or confirmed idle,
     * never past what this stream received (or started at). `heldReply` answers a keepalive
     * while a held PREPARE is all that is left: written = WAL end, flushed invalid, which lets a
     * fast shutdown complete without confirming anything (walsender.c, WalSndDone).
     */
    const sendStatus = (replyRequested = false, heldReply = false) => {
      if (conn === undefined || !streaming) return;
      const written = writtenLsn();
      if (heldReply && keepalive !== undefined) {
        const w = Lsn.max(written, keepalive.walEnd);
        conn.sendCopyData(encodeStandbyStatusUpdate({ written: w, flushed: Lsn.ZERO, applied: Lsn.ZERO, clientTime: nowPgTimestamp(), replyRequested }));
        return;
      }
      const reached = Lsn.max(start, written);
      const wanted = Lsn.max(feedback.acknowledged, idleConfirmed);
      const flushed = wanted.value > reached.value ? reached : wanted;
      conn.sendCopyData(
        encodeStandbyStatusUpdate({ written: Lsn.max(written, flushed), flushed, applied: flushed, clientTime: nowPgTimestamp(), replyRequested }),
      );
      observer?.statusSent?.(Lsn.max(written, flushed), flushed);
    };

    // Reading stops while the window is full (when pacing) or the consumer's brake is on.
    let braked = false;
    let readingPaused = false;
    const pace = () => {
      if (conn === undefined || done) return;
      const wanted = (paces && flow.paused) || braked;
      if (wanted === readingPaused) return;
      readingPaused = wanted;
      if (wanted) {
        conn.pause();
        observer?.paused?.();
      } else {
        conn.resume();
        observer?.resumed?.();
      }
    };

    const watchdog = new ReceiveWatchdog(options.receiveTimeout ?? DEFAULT_RECEIVE_TIMEOUT, () => sendStatus(true), (err) => fail(err), () => readingPaused);
    const fail = (err: unknown) => {
      if (done) return;
      done = true;
      cleanup();
      conn?.destroy();
      observer?.error?.(err);
      subscriber.error(err);
    };

    const cleanup = () => {
      if (timer !== undefined) clearInterval(timer);
      timer = undefined;
      watchdog.stop();
      if (statusTimer !== undefined) clearTimeout(statusTimer);
      statusTimer = undefined;
      for (const sub of subscriptions) sub.unsubscribe();
    };

    subscriptions = [
      // Progress reopens the flow-control window and may make the stream idle.
      feedback.finished$.subscribe((lsn) => {
        flow.onAcknowledged(lsn);
        pace();
        checkIdle();
        completeAtEnd();
      }),
      // Acknowledgments reach the server soon, debounced.
      feedback.acknowledged$.subscribe(() => {
        checkIdle();
        if (statusTimer !== undefined || !streaming) return;
        statusTimer = setTimeout(() => {
          statusTimer = undefined;
          if (!done) sendStatus();
        }, statusDelay);
      }),
      feedback.failure$.subscribe((err) => fail(err)),
      ...(flowOptions !== false && flowOptions.backpressure !== undefined
        ? [
            flowOptions.backpressure.subscribe((on) => {
              braked = on;
              pace();
            }),
          ]
        : []),
    ];
    if (done) cleanup(); // the feedback had failed already

    const run = async () => {
      await slotReleased(options.slot);
      if (done) return;
      conn = await PgConnection.connect(config, 'database');
      if (done) {
        await conn.end();
        return;
      }
      observer?.connected?.({ kind: 'logical', slot: options.slot, target: describeTarget(config), serverVersion: conn.serverVersionNum, feedback });
      // While flow control pauses reading we never see a keepalive asking for a reply, so the
      // timer alone must keep the walsender's wal_sender_timeout from expiring.
      const senderTimeout = await walSenderTimeout(conn);
      const regular = statusInterval > 0 ? statusInterval : Infinity;
      const interval = senderTimeout > 0 ? Math.min(regular, Math.max(100, Math.floor(senderTimeout / 3))) : regular;
      if (done) return;
      if (options.createSlot) await createSlot(conn, options.slot, options.createSlot === true ? {} : options.createSlot, feedback);
      if (done) return;
      start = options.startLsn === undefined ? feedback.acknowledged : typeof options.startLsn === 'string' ? Lsn.parse(options.startLsn) : options.startLsn;
      const sql = startLogicalReplicationCommand(options.slot, start, options, conn.serverVersionNum);
      await conn.startCopy(sql, {
        onRead() {
          watchdog.received(); // once per socket read, not per message
        },
        onData(buf, s, e) {
          if (done) return;
          // Data can arrive in the same chunk as CopyBothResponse, before startCopy's promise
          // settles; a consumer that unsubscribes then must still send its final status update.
          streaming = true;
          // XLogData, the hot path, is read in place: the LSN halves as numbers, no frame object
          // and no payload view unless someone takes frames (the raw Observable, or an observer).
          if (e - s > 0 && buf[s] === TAG_XLOG_DATA) {
            if (e - s < XLOG_HEADER_SIZE) return fail(truncatedXLogData(e - s));
            const hi = u32At(buf, s + WAL_START);
            const lo = u32At(buf, s + WAL_START + 4);
            const frame = direct === undefined || observer?.frame !== undefined ? (decodeReplicationFrame(buf, s, e) as XLogData) : undefined;
            if (frame !== undefined) observer?.frame?.(frame, e - s);
            if (ending) return; // past endLsn: the slot sends it again to the next stream
            // A transaction or message that starts past endLsn is not emitted (pg_recvlogical -E).
            if (endLsn !== undefined && !inTransaction && Lsn.after(hi, lo, endLsn)) return reachEnd();
            const endHi = u32At(buf, s + WAL_END);
            const endLo = u32At(buf, s + WAL_END + 4);
            if (endHi > writtenHi || (endHi === writtenHi && endLo > writtenLo)) {
              writtenHi = endHi;
              writtenLo = endLo;
            }
            // Pause before handing the frame on: acknowledging it downstream may resume at once.
            const p = s + XLOG_HEADER_SIZE;
            const unitsBefore = flow.unitsFinished;
            flow.onXLogDataAt(hi, lo, buf, p, e);
            let finishedUnit = false;
            if (endLsn !== undefined) {
              finishedUnit = flow.unitsFinished !== unitsBefore;
              const tag = e > p ? buf[p] : 0;
              if (tag === TAG_BEGIN || tag === TAG_BEGIN_PREPARE || tag === TAG_STREAM_START) inTransaction = true;
              else if (tag === TAG_STREAM_STOP || finishedUnit) inTransaction = false;
              if (finishedUnit) {
                lastEmittedHi = flow.lastHi;
                lastEmittedLo = flow.lastLo;
              }
            }
            pace();
            if (direct !== undefined) direct(buf, p, e, hi, lo);
            else (subscriber as Subscriber<ReplicationFrame>).next(frame!);
            // The unit just emitted reaches the end.
            if (endLsn !== undefined && !done && finishedUnit && (lastEmittedHi > endLsn.hi || (lastEmittedHi === endLsn.hi && lastEmittedLo >= endLsn.lo))) reachEnd();
            return;
          }
          let frame: ReplicationFrame;
          try {
            frame = decodeReplicationFrame(buf, s, e);
          } catch (err) {
            return fail(err as WalstreamError);
          }
          if (frame.type !== 'keepalive') return fail(new ProtocolError('unexpected replication frame')); // decodeReplicationFrame knows only these two
          observer?.frame?.(frame, e - s);
          observer?.keepalive?.(frame);
          if (ending) return;
          keepalive = { walEnd: frame.walEnd, unitsBefore: flow.lastUnit };
          checkIdle();
          if (frame.replyRequested) sendStatus(false, heldIdle);
          pace();
          if (direct === undefined) (subscriber as Subscriber<ReplicationFrame>).next(frame);
          if (endLsn === undefined || done) return;
          // The server has sent everything up to the end.
          if (!inTransaction && frame.walEnd.value >= endLsn.value) reachEnd();
        },
        onServerCopyDone() {
          if (serverEnded !== undefined) return serverEnded();
          // The server ended the stream on its own (shutdown): finish the COPY, and report it as a
          // broken connection so a retry can resume; the slot may hold more changes.
          conn?.sendCopyDone();
          fail(new ConnectionError('the server ended the replication stream', { code: 'ESERVERENDED' }));
        },
        onComplete() {
          serverEnded?.();
        },
        onError(err) {
          fail(err);
        },
      });
      if (done) return;
      streaming = true;
      if (Number.isFinite(interval)) {
        timer = setInterval(() => {
          if (statusInterval > 0 || flow.paused) sendStatus();
        }, interval);
        timer.unref();
      }
      watchdog.start();
    };

    run().catch((err: unknown) => fail(streamFailure(err)));

    return () => {
      if (done) return;
      done = true;
      cleanup();
      observer?.closed?.();
      const c = conn;
      if (c === undefined) return; // connect still under way: run() closes it
      c.resume(); // read the server's end of stream even when flow control had paused reading
      const teardown = endCopyBoth(c, streaming, sendStatus, options.endTimeout ?? 2000, (resolve) => {
        serverEnded = resolve;
      });
      trackSlotRelease(options.slot, teardown);
    };
  }
}

const UNIT_MS: Record<string, number> = { us: 0.001, ms: 1, s: 1000, min: 60_000, h: 3_600_000, d: 86_400_000 };

/** The server's `wal_sender_timeout` in milliseconds (0 = disabled); 0 when it cannot be read. */
async function walSenderTimeout(conn: PgConnection): Promise<number> {
  try {
    const [result] = await conn.query('SHOW wal_sender_timeout');
    const m = /^(\d+)\s*(us|ms|s|min|h|d)?$/.exec(result?.rows[0]?.[0] ?? '');
    return m === null ? 0 : Number(m[1]) * (UNIT_MS[m[2] ?? 'ms'] ?? 0);
  } catch (err) {
    if (err instanceof PgError) return 0; // a server or pooler that refuses SHOW here
    throw err;
  }
}

async function createSlot(conn: PgConnection, slot: string, options: CreateReplicationSlotOptions, feedback: LsnFeedback): Promise<void> {
  if (options.temporary && !feedback.acknowledged.isZero()) throw new SlotLostError(slot, feedback.acknowledged);
  try {
    await conn.query(createSlotCommand(slot, options, conn.serverVersionNum));
  } catch (err) {
    if (!(err instanceof PgError && err.code === '42710' && !options.temporary)) throw err;
  }
}
