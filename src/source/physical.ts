import { createSlotCommand } from '../control/client';
import { Observable, type Subscription } from 'rxjs';
import { ConfigurationError, ConnectionError, PgError, ProtocolError, type WalstreamError, streamFailure } from '../errors';
import { Lsn } from '../lsn';
import { identifySystem, readReplicationSlot, timelineHistory } from '../control/commands';
import { showWalSegmentSize, startPhysicalReplicationCommand } from '../physical/commands';
import { roundDownToSegment } from '../physical/wal-names';
import { type ReplicationFrame, decodeReplicationFrame, encodeHotStandbyFeedback, encodeStandbyStatusUpdate } from '../protocol/frames';
import { nowPgTimestamp } from '../time';
import { type ConnectionOptions, resolveConfig } from '../wire/config';
import { PgConnection, type QueryResult } from '../wire/connection';
import { DEFAULT_RECEIVE_TIMEOUT, ReceiveWatchdog, type ReceiveTimeoutOptions, endCopyBoth, slotReleased, trackSlotRelease } from './copy-both';
import { LsnFeedback } from './feedback';
import { type ObservabilityOptions, observerOf } from './observer';
import { describeTarget } from '../wire/tls';
import { DEFAULT_PHYSICAL_MAX_PENDING_BYTES, PendingBytesWindow, type PhysicalFlowControlOptions } from './pending-bytes';

/** The transaction horizons a hot standby asks the primary to keep (`h` message); 0 means "none". */
export interface StandbyXmin {
  /** Oldest transaction id still needed by queries on the standby. */
  xmin: number;
  /** Epoch of `xmin` (the high 32 bits of its 64-bit `txid`). Default 0. */
  xminEpoch?: number;
  /** Oldest catalog xmin still needed (logical slots on the standby). Default 0 (none). */
  catalogXmin?: number;
  catalogXminEpoch?: number;
}

/** Options of {@link physicalReplication}. */
export interface PhysicalReplicationOptions extends ConnectionOptions, ReceiveTimeoutOptions, ObservabilityOptions {
  /** A physical replication slot: the server keeps WAL from the slot's `restart_lsn` (the flushed position reported). */
  slot?: string;
  /**
   * Create `slot` (a physical slot reserving WAL) on the streaming connection first. A permanent
   * slot that exists already (42710) is used as it is; a temporary one lives as long as the connection.
   */
  createSlot?: boolean | { temporary?: boolean };
  /**
   * Where to start. Default, as pg_receivewal: the slot's `restart_lsn` (READ_REPLICATION_SLOT,
   * PostgreSQL 15+), else the server's current WAL position from IDENTIFY_SYSTEM; both rounded
   * down to the start of their segment. An explicit LSN is used as given.
   */
  startLsn?: Lsn | string;
  /** The timeline of `startLsn`. Default: the slot's `restart_tli`, else the server's current timeline. */
  timeline?: number;
  /** Where the consumer (e.g. the WAL segment writer, after fsync) acknowledges WAL; reported as flushed. */
  feedback?: LsnFeedback;
  /** Milliseconds between standby status updates (and hot standby feedback). Default 10000; 0 = none but those the server asks for and those after acknowledgments (`pg_receivewal -s 0`). */
  statusInterval?: number;
  /**
   * Hot standby feedback sent with every status update: fixed horizons, or a function asked each
   * time (return undefined to send nothing). Without a slot the primary shows the xmin in
   * `pg_stat_replication.backend_xmin`; with one, in the slot's `xmin`.
   */
  hotStandbyFeedback?: StandbyXmin | (() => StandbyXmin | undefined);
  /** When the server ends a historic timeline, continue on the next one. Default true; false completes after the `timelineSwitch` event. */
  followTimelineSwitch?: boolean;
  /** Milliseconds to wait for the server's end of stream after CopyDone, before closing anyway. Default 2000. */
  endTimeout?: number;
  /**
   * Flow control: stop reading from the socket while `maxPendingBytes` of received WAL wait for
   * `feedback` to acknowledge them, so TCP and the server hold the backlog of a slow consumer
   * instead of our heap; resume at half. Status updates keep going on the `statusInterval` timer
   * while paused (keep it below the server's `wal_sender_timeout`). Default
   * `{ maxPendingBytes: 64 MiB }` (at least two segments) when you pass `feedback` (`receiveWal`
   * always does), `false` (off) when you don't.
   */
  flowControl?: PhysicalFlowControlOptions | false;
}

/** First event of a physical stream: where and on which timeline streaming starts. */
export interface PhysicalStreamStart {
  readonly type: 'streamStart';
  /** IDENTIFY_SYSTEM's system identifier, a 64-bit number as a decimal string. */
  readonly systemId: string;
  /** The timeline streamed. */
  readonly timeline: number;
  /** The server's current timeline. */
  readonly serverTimeline: number;
  readonly startLsn: Lsn;
  /** `wal_segment_size` in bytes. */
  readonly walSegmentSize: number;
  /** `server_version_num`, e.g. 180001. */
  readonly serverVersion: number;
}

/** The history file of a timeline above 1 (TIMELINE_HISTORY), emitted before streaming it. */
export interface TimelineHistoryFile {
  readonly type: 'timelineHistory';
  readonly timeline: number;
  /** `00000002.history` */
  readonly fileName: string;
  readonly content: Buffer;
}

/** The server ended a historic timeline: the stream continues on `nextTimeline` from `nextTimelineStart`. */
export interface TimelineSwitch {
  readonly type: 'timelineSwitch';
  /** The timeline that ended. */
  readonly timeline: number;
  /** The end of the WAL received on it. */
  readonly endLsn: Lsn;
  readonly nextTimeline: number;
  /** Where `nextTimeline` forks off; streaming resumes at the start of its segment, as pg_receivewal does. */
  readonly nextTimelineStart: Lsn;
}

/** What {@link physicalReplication} emits: raw WAL in XLogData frames, keepalives, and the stream's structure. */
export type PhysicalFrame = ReplicationFrame | PhysicalStreamStart | TimelineHistoryFile | TimelineSwitch;

/**
 * Streams raw WAL from a physical walsender (`replication=true`): a cold Observable that connects
 * on subscribe and ends the stream with CopyDone on unsubscribe.
 * Follows "Streaming Replication Protocol" (IDENTIFY_SYSTEM, READ_REPLICATION_SLOT,
 * START_REPLICATION ... PHYSICAL, TIMELINE_HISTORY) and pg_receivewal's `receivelog.c`.
 *
 * Emits `streamStart`, then XLogData (`walStart` is the LSN of `data[0]`; consecutive frames are
 * contiguous) and primary keepalives. On a historic timeline the server ends the stream at the
 * fork point: the source emits `timelineSwitch`, then `timelineHistory` of the next timeline, and
 * streams on from the start of the fork point's segment (unless `followTimelineSwitch` is false).
 * Standby status updates carry the last received position as written and `feedback.acknowledged`
 * as flushed; they go out every `statusInterval` ms, at once when a keepalive asks for a reply, and
 * whenever `feedback` advances.
 *
 * Errors: {@link PgError} from the server (42704 missing slot, 58P01 WAL already removed, 28P01
 * wrong password); {@link ConfigurationError} for `createSlot` without `slot`;
 * {@link ConnectionError} when the connection breaks, with code `ESERVERENDED` when the server
 * ends the stream outside a timeline switch (shutdown); {@link ParseError} for a malformed frame.
 *
 * @example
 * const feedback = new LsnFeedback();
 * physicalReplication({ connectionString: url, slot: 'archiver', feedback })
 *   .pipe(writeWalSegments({ directory: '/var/lib/wal', feedback }))
 *   .subscribe((e) => e.type === 'segmentComplete' && console.log(e.fileName));
 */
export function physicalReplication(options: PhysicalReplicationOptions): Observable<PhysicalFrame> {
  return new Observable<PhysicalFrame>((subscriber) => {
    if (options.createSlot && options.slot === undefined) {
      subscriber.error(new ConfigurationError('createSlot needs a slot name'));
      return;
    }
    const config = resolveConfig(options);
    const feedback = options.feedback ?? new LsnFeedback();
    const statusInterval = options.statusInterval ?? 10_000;
    const follow = options.followTimelineSwitch ?? true;
    let conn: PgConnection | undefined;
    let timer: NodeJS.Timeout | undefined;
    let ackSubscription: Subscription | undefined;
    let streaming = false;
    let done = false;
    let timeline = 0;
    let segmentSize = 0;
    let written = Lsn.ZERO;
    let switchTo: { timeline: number; start: Lsn } | undefined;
    let serverCopyDone = false;
    let serverEnded: (() => void) | undefined;
    const observer = observerOf(options);
    const flowOptions = options.flowControl ?? (options.feedback === undefined ? false : {});
    let window: PendingBytesWindow | undefined;
    // WAL before the start position is not pending: a fresh feedback acknowledges 0/0.
    let ackFloor = 0n;
    const acknowledgedValue = () => (feedback.acknowledged.value > ackFloor ? feedback.acknowledged.value : ackFloor);
    // Acknowledgments report progress to the server and reopen the flow-control window.
    const onAcknowledged = () => {
      sendStatus();
      if (window?.update(written.value, acknowledgedValue()) && !window.paused && !done) {
        conn?.resume();
        observer?.resumed?.();
      }
    };

    const sendStatus = (replyRequested = false) => {
      if (conn === undefined || !streaming) return;
      const now = nowPgTimestamp();
      const flushed = feedback.acknowledged;
      // applied stays 0 (invalid) as in pg_receivewal: nothing here replays WAL.
      conn.sendCopyData(encodeStandbyStatusUpdate({ written: Lsn.max(written, flushed), flushed, applied: Lsn.ZERO, clientTime: now, replyRequested }));
      observer?.statusSent?.(Lsn.max(written, flushed), flushed);
      const hs = typeof options.hotStandbyFeedback === 'function' ? options.hotStandbyFeedback() : options.hotStandbyFeedback;
      if (hs !== undefined) {
        conn.sendCopyData(
          encodeHotStandbyFeedback({ clientTime: now, xmin: hs.xmin, xminEpoch: hs.xminEpoch ?? 0, catalogXmin: hs.catalogXmin ?? 0, catalogXminEpoch: hs.catalogXminEpoch ?? 0 }),
        );
      }
    };

    const cleanup = () => {
      if (timer !== undefined) clearInterval(timer);
      timer = undefined;
      watchdog.stop();
      ackSubscription?.unsubscribe();
    };

    const watchdog = new ReceiveWatchdog(options.receiveTimeout ?? DEFAULT_RECEIVE_TIMEOUT, () => sendStatus(true), (err) => fail(err), () => window?.paused === true);
    const fail = (err: unknown) => {
      if (done) return;
      done = true;
      cleanup();
      conn?.destroy();
      observer?.error?.(err);
      subscriber.error(err);
    };

    // The server finished START_REPLICATION on its own: a timeline switch when it named the next
    // timeline, else a shutdown.
    const endOfTimeline = (c: PgConnection) => {
      if (done) return;
      streaming = false;
      if (switchTo === undefined) {
        return fail(new ConnectionError('the server ended the replication stream', { code: 'ESERVERENDED' }));
      }
      const next = switchTo;
      if (next.timeline <= timeline || next.start.value > written.value) {
        return fail(new ProtocolError(`server ended timeline ${timeline} at ${written} and reported next timeline ${next.timeline} at ${next.start}`));
      }
      subscriber.next({ type: 'timelineSwitch', timeline, endLsn: written, nextTimeline: next.timeline, nextTimelineStart: next.start });
      if (!follow) {
        done = true;
        cleanup();
        void c.end();
        return subscriber.complete();
      }
      streamTimeline(c, roundDownToSegment(next.start, segmentSize), next.timeline).catch((err: unknown) => fail(streamFailure(err)));
    };

    const streamTimeline = async (c: PgConnection, start: Lsn, tli: number): Promise<void> => {
      if (tli > 1) {
        const history = await timelineHistory(c, tli);
        if (done) return;
        subscriber.next({ type: 'timelineHistory', timeline: tli, fileName: history.fileName, content: Buffer.from(history.content, 'utf8') });
      }
      timeline = tli;
      ackFloor = start.value;
      switchTo = undefined;
      serverCopyDone = false;
      written = start;
      const started = c.startCopy(startPhysicalReplicationCommand(start, { slot: options.slot, timeline: tli }), {
        onData(buf, s, e) {
          if (done) return;
          watchdog.received();
          // The copy has started even if startCopy's promise has not resolved yet (same socket
          // read): a consumer that unsubscribes now must still get the final status and CopyDone.
          streaming = true;
          let frame: ReplicationFrame;
          try {
            frame = decodeReplicationFrame(buf, s, e);
          } catch (err) {
            return fail(err as WalstreamError);
          }
          observer?.frame?.(frame, e - s);
          if (frame.type === 'keepalive') observer?.keepalive?.(frame);
          if (frame.type === 'xlogdata') {
            const end = frame.walStart.add(frame.data.length);
            if (end.value > written.value) written = end;
            // Pause before handing the frame on: acknowledging it downstream may resume at once.
            if (window?.update(written.value, acknowledgedValue()) && window.paused) {
              c.pause();
              observer?.paused?.();
            }
          } else if (frame.replyRequested) {
            sendStatus();
          }
          subscriber.next(frame);
        },
        onServerCopyDone() {
          if (serverEnded !== undefined) return; // our own CopyDone is answered
          // End of a historic timeline (or a server shutdown): finish the COPY; the result set that
          // follows, if any, names the next timeline.
          streaming = false;
          serverCopyDone = true;
          c.sendCopyDone();
        },
        onCommandComplete(tag) {
          // walsender.c WalSndDone: at shutdown, once we confirmed the last WAL, CommandComplete
          // "COPY 0" ends the stream, and the connection closes.
          if (tag.startsWith('COPY')) serverCopyDone = true;
        },
        onResult(result: QueryResult) {
          const row = result.rows[0];
          if (result.fields[0] === 'next_tli' && row?.[0] != null && row[1] != null) switchTo = { timeline: Number(row[0]), start: Lsn.parse(row[1]) };
        },
        onComplete() {
          if (serverEnded !== undefined) return serverEnded();
          endOfTimeline(c);
        },
        onError(err) {
          // A server that shuts down ends the stream (CopyDone or CommandComplete), then closes the
          // connection without naming a next timeline.
          if (serverCopyDone && err instanceof ConnectionError) {
            return fail(new ConnectionError('the server ended the replication stream (shutdown)', { code: 'ESERVERENDED', cause: err }));
          }
          fail(err);
        },
      });
      try {
        await started;
      } catch (err) {
        // Starting exactly at the end of a historic timeline, the server sends no CopyBoth, only
        // the next timeline's result set (walsender.c, StartReplication).
        if (switchTo !== undefined && !(err instanceof PgError)) return endOfTimeline(c);
        throw err;
      }
      if (done) return;
      streaming = true;
      watchdog.start();
      sendStatus(); // at once, as pg_receivewal and a standby do: hot standby feedback takes effect now
    };

    const run = async () => {
      await slotReleased(options.slot);
      if (done) return;
      const c = await PgConnection.connect(config, 'true');
      conn = c;
      if (done) return void (await c.end());
      observer?.connected?.({ kind: 'physical', slot: options.slot, target: describeTarget(config), serverVersion: c.serverVersionNum, feedback });
      const identity = await identifySystem(c);
      const serverTimeline = identity.timeline;
      segmentSize = await showWalSegmentSize(c);
      if (flowOptions !== false) window = new PendingBytesWindow(Math.max(flowOptions.maxPendingBytes ?? DEFAULT_PHYSICAL_MAX_PENDING_BYTES, 2 * segmentSize));
      if (options.createSlot && options.slot !== undefined) {
        const temporary = typeof options.createSlot === 'object' && options.createSlot.temporary === true;
        try {
          await c.query(createSlotCommand(options.slot, { physical: true, reserveWal: true, temporary }, c.serverVersionNum));
        } catch (err) {
          if (!(err instanceof PgError && err.code === '42710' && !temporary)) throw err;
        }
      }
      let start: Lsn | undefined;
      let tli = options.timeline;
      if (options.startLsn !== undefined) {
        start = typeof options.startLsn === 'string' ? Lsn.parse(options.startLsn) : options.startLsn;
      } else {
        if (options.slot !== undefined && c.serverVersionNum >= 150000) {
          // A missing slot leaves the start to IDENTIFY_SYSTEM; START_REPLICATION then fails with the server's own 42704.
          const slot = await readReplicationSlot(c, options.slot);
          if (slot?.restartLsn != null) {
            start = roundDownToSegment(slot.restartLsn, segmentSize);
            tli ??= slot.restartTimeline ?? undefined;
          }
        }
        start ??= roundDownToSegment(identity.xlogPos, segmentSize);
      }
      tli ??= serverTimeline;
      if (done) return;
      subscriber.next({
        type: 'streamStart',
        systemId: identity.systemId,
        timeline: tli,
        serverTimeline,
        startLsn: start,
        walSegmentSize: segmentSize,
        serverVersion: c.serverVersionNum,
      });
      await streamTimeline(c, start, tli);
      if (done) return;
      if (statusInterval > 0) {
        timer = setInterval(() => sendStatus(), statusInterval);
        timer.unref();
      }
      ackSubscription = feedback.acknowledged$.subscribe(onAcknowledged); // at once too: an acknowledgment may have come while starting
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
  });
}

