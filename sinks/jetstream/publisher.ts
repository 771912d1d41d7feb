import { type Msg, type NatsConnection, type Subscription, createInbox, headers as natsHeaders } from '@nats-io/transport-node';
import type { Lsn } from '../../src/lsn';
import { SinkError } from '../internal/errors';
import { Fifo } from '../internal/fifo';

/** One message to publish; `done` settles once JetStream has stored it (a duplicate counts). */
export interface Outgoing {
  readonly subject: string;
  readonly msgId: string;
  readonly data: Uint8Array | string;
  readonly headers: Record<string, string>;
  /** The commit LSN of the message's transaction, for errors. */
  readonly lsn: Lsn;
}

interface Entry extends Outgoing {
  state: 'queued' | 'sent' | 'stored' | 'failed';
  firstFailure?: number;
  lastError?: unknown;
  resolve(): void;
  reject(err: unknown): void;
}

export interface PublisherOptions {
  /** Messages sent and not yet acknowledged by a PubAck, at most. */
  window: number;
  /** ms to wait for each PubAck. */
  timeout: number;
  /** ms a message may keep failing before the sink gives up with a {@link SinkError}. */
  retryFor: number;
  /** Refuse a subject that another stream captures (`Nats-Expected-Stream`). */
  stream?: string;
  /** Counts PubAcks that said `duplicate` (a republish after a crash or a failover). */
  onDuplicate?(): void;
}

/**
 * Publishes in order with a window of unacknowledged messages, and keeps the stream's order equal
 * to the publish order under faults.
 *
 * Pipelining alone could reorder: if message k is lost with a dying leader while k+1 reaches the
 * new one, republishing k puts it after k+1. So every pipelined message carries
 * `Nats-Expected-Last-Msg-Id` = the previous message's `Nats-Msg-Id`: the server stores it only
 * right after its predecessor, and refuses it otherwise. When any message fails (timeout, no
 * leader, a refused expectation) the window drains and the unacknowledged messages are published
 * again one at a time, in order, without the expectation; those already stored come back as
 * duplicates (the server checks `Nats-Msg-Id` before the expectation: `processJetStreamMsg` in
 * nats-server's stream.go). The first message of a chain (at start, after a recovery) also goes
 * alone, since its predecessor in the stream is not known.
 */
export class OrderedPublisher {
  private readonly queue = new Fifo<Entry>();
  private readonly sent = new Fifo<Entry>();
  private chainFrom: string | undefined;
  private broken = false;
  private recovering = false;
  private closed = false;
  /** PubAcks arrive on `<inbox>.<token>`: one subscription and one timer for all, not one request each. */
  private readonly inbox = createInbox();
  private readonly awaiting = new Map<string, { deadline: number; resolve(): void; reject(err: unknown): void }>();
  private nextToken = 0;
  private readonly subscription: Subscription;
  private readonly sweeper: ReturnType<typeof setInterval>;

  constructor(
    private readonly nc: NatsConnection,
    private readonly options: PublisherOptions,
  ) {
    this.subscription = nc.subscribe(`${this.inbox}.*`, { callback: (_err, m) => this.onPubAck(m) });
    // Map order is send order and every message has the same timeout, so expired ones are a prefix.
    this.sweeper = setInterval(() => {
      const now = Date.now();
      for (const [token, w] of this.awaiting) {
        if (w.deadline > now) break;
        this.awaiting.delete(token);
        w.reject(new Error(`no PubAck within ${this.options.timeout} ms`));
      }
    }, Math.max(10, Math.floor(options.timeout / 4)));
    this.sweeper.unref?.();
  }

  /** Resolves once JetStream holds `message` (stored now, or found a duplicate of an earlier publish). */
  publish(message: Outgoing): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.queue.push({ ...message, state: 'queued', resolve, reject });
      this.pump();
    });
  }

  /** Stops publishing and listening for PubAcks; pending promises never settle. */
  close(): void {
    this.closed = true;
    clearInterval(this.sweeper);
    this.subscription.unsubscribe();
    this.awaiting.clear();
  }

  /** A PubAck (`{"stream":…,"seq":…,"duplicate"?:true}` or `{"error":{…}}`), or a 503 status when no stream leader listens. */
  private onPubAck(m: Msg): void {
    const w = this.awaiting.get(m.subject.slice(this.inbox.length + 1));
    if (w === undefined) return; // timed out already
    this.awaiting.delete(m.subject.slice(this.inbox.length + 1));
    if (m.headers?.hasError || m.data.length === 0) return w.reject(new Error(`JetStream answered ${m.headers?.code ?? ''} ${m.headers?.description ?? 'no responders'}`));
    let ack: { duplicate?: boolean; error?: { code: number; err_code?: number; description: string } };
    try {
      ack = JSON.parse(m.string());
    } catch (err) {
      return w.reject(err);
    }
    if (ack.error !== undefined) return w.reject(new Error(`JetStream refused the message: ${ack.error.code}/${ack.error.err_code ?? ''} ${ack.error.description}`));
    if (ack.duplicate) this.options.onDuplicate?.();
    w.resolve();
  }

  private pump(): void {
    while (!this.closed && !this.broken && !this.recovering && this.queue.length > 0 && this.sent.length < this.options.window) {
      if (this.chainFrom === undefined && this.sent.length > 0) return; // a chain's first message goes alone
      const entry = this.queue.shift()!;
      entry.state = 'sent';
      this.sent.push(entry);
      const expect = this.chainFrom === undefined ? undefined : this.chainFrom;
      this.chainFrom = entry.msgId;
      this.send(entry, expect).then(
        () => this.settle(entry, 'stored'),
        (err: unknown) => {
          entry.lastError = err;
          entry.firstFailure ??= Date.now();
          this.broken = true;
          this.settle(entry, 'failed');
        },
      );
    }
  }

  private settle(entry: Entry, state: 'stored' | 'failed'): void {
    if (this.closed) return;
    entry.state = state;
    if (state === 'stored') entry.resolve();
    while (this.sent.peek()?.state === 'stored') this.sent.shift();
    if (this.broken) {
      if (this.sent.every((e) => e.state !== 'sent')) void this.recover();
      return;
    }
    this.pump();
  }

  /** Publishes the unacknowledged messages of the window again, one at a time, in order. */
  private async recover(): Promise<void> {
    if (this.recovering) return;
    this.recovering = true;
    const redo = this.sent.drain().filter((e) => e.state !== 'stored');
    for (const entry of redo) {
      for (let attempt = 0; ; attempt++) {
        if (this.closed) return;
        try {
          await this.send(entry, undefined);
          entry.state = 'stored';
          entry.resolve();
          this.chainFrom = entry.msgId;
          break;
        } catch (err) {
          entry.lastError = err;
          entry.firstFailure ??= Date.now();
          if (Date.now() - entry.firstFailure >= this.options.retryFor) return this.fail(entry);
          await new Promise((r) => setTimeout(r, Math.min(50 * 2 ** attempt, 1000)));
        }
      }
    }
    this.recovering = false;
    this.broken = false;
    this.pump();
  }

  private fail(entry: Entry): void {
    this.closed = true;
    const cause = entry.lastError;
    const err = new SinkError(
      `JetStream did not store ${entry.msgId} on ${entry.subject} within ${this.options.retryFor} ms: ${cause instanceof Error ? cause.message : String(cause)}`,
      'jetstream',
      entry.lsn,
      { cause },
    );
    entry.reject(err);
    for (const e of this.queue.drain()) e.reject(err);
  }

  /** Publishes with a reply subject of our inbox; settles with the PubAck, or rejects on timeout. */
  private send(entry: Entry, expectLastMsgId: string | undefined): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const h = natsHeaders();
      for (const [k, v] of Object.entries(entry.headers)) h.set(k, v);
      h.set('Nats-Msg-Id', entry.msgId);
      if (expectLastMsgId !== undefined) h.set('Nats-Expected-Last-Msg-Id', expectLastMsgId);
      if (this.options.stream !== undefined) h.set('Nats-Expected-Stream', this.options.stream);
      const token = String(this.nextToken++);
      this.awaiting.set(token, { deadline: Date.now() + this.options.timeout, resolve, reject });
      try {
        this.nc.publish(entry.subject, entry.data, { reply: `${this.inbox}.${token}`, headers: h });
      } catch (err) {
        this.awaiting.delete(token);
        reject(err);
      }
    });
  }
}
