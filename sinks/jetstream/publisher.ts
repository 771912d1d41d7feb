import { type Msg, type MsgHdrs, type NatsConnection, type Subscription, createInbox } from '@nats-io/transport-node';
import type { Lsn } from '../../src/lsn';
import { SinkError } from '../internal/errors';
import { Fifo } from '../internal/fifo';

/** One message to publish. */
export interface Outgoing {
  readonly subject: string;
  /** Its `Nats-Msg-Id`; also what the next message expects as `Nats-Expected-Last-Msg-Id`. */
  readonly msgId: string;
  readonly data: Uint8Array | string;
  /**
   * Its own header lines, each `Name: value\r\n`, values without CR or LF (see {@link headerLine}).
   * The publisher adds the version line, `Nats-Msg-Id`, the expectations and the final blank line.
   */
  readonly headers: string;
}

/** The messages of one transaction: `publishAll` settles once, when the last of them is stored. */
interface Batch {
  remaining: number;
  readonly lsn: Lsn;
  resolve(): void;
  reject(err: unknown): void;
}

interface Entry {
  readonly message: Outgoing;
  readonly batch: Batch;
  state: 'queued' | 'sent' | 'stored' | 'failed';
  firstFailure?: number;
  lastError?: unknown;
}

/** A PubAck being waited for, by reply token: `done()` when stored, `done(err)` otherwise. */
interface Awaited {
  readonly deadline: number;
  done(err?: unknown): void;
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
 * `Name: value\r\n` for a header block. NATS headers are MIME-like lines, so a CR or LF in the
 * value (possible in a quoted identifier) is written as `%0D` / `%0A`, and surrounding spaces,
 * which a reader's parser trims, are kept as they are.
 */
export function headerLine(name: string, value: string): string {
  return `${name}: ${/[\r\n]/.test(value) ? value.replace(/\r/g, '%0D').replace(/\n/g, '%0A') : value}\r\n`;
}

const encoder = new TextEncoder();

/** The client refused the message as larger than the server's `max_payload`: no retry can help. */
function tooLarge(err: unknown): boolean {
  return err instanceof Error && err.message.includes('max_payload');
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
 *
 * Cost per message, kept small because a sink of 50,000 changes/s has 20 µs for everything: the
 * header block is one string (the transaction's part built once by the caller) encoded once, and
 * handed to the client as an object with `encode()`, which is all `nc.publish` asks of headers; a
 * batch (a transaction) has one promise, not one per message; PubAcks arrive on one wildcard
 * subscription and one timer sweeps their deadlines.
 */
export class OrderedPublisher {
  private readonly queue = new Fifo<Entry>();
  private readonly sent = new Fifo<Entry>();
  private chainFrom: string | undefined;
  private broken = false;
  private recovering = false;
  private closed = false;
  private pumpScheduled = false;
  /** PubAcks arrive on `<inbox>.<token>`: one subscription and one timer for all, not one request each. */
  private readonly inbox = createInbox();
  private readonly awaiting = new Map<number, Awaited>();
  private nextToken = 0;
  private readonly subscription: Subscription;
  private readonly sweeper: ReturnType<typeof setInterval>;
  private readonly streamLine: string;
  /** Reused for every publish: the client reads `headers.encode()` and `reply` synchronously. */
  private readonly rawHeaders = { bytes: new Uint8Array(0), encode(): Uint8Array { return this.bytes; } };
  private readonly publishOptions = { reply: '', headers: this.rawHeaders as unknown as MsgHdrs };

  constructor(
    private readonly nc: NatsConnection,
    private readonly options: PublisherOptions,
  ) {
    this.streamLine = options.stream === undefined ? '' : headerLine('Nats-Expected-Stream', options.stream);
    this.subscription = nc.subscribe(`${this.inbox}.*`, { callback: (_err, m) => this.onPubAck(m) });
    // Map order is send order and every message has the same timeout, so expired ones are a prefix.
    this.sweeper = setInterval(() => {
      const now = Date.now();
      for (const [token, w] of this.awaiting) {
        if (w.deadline > now) break;
        this.awaiting.delete(token);
        w.done(new Error(`no PubAck within ${this.options.timeout} ms`));
      }
    }, Math.max(10, Math.floor(options.timeout / 4)));
    this.sweeper.unref?.();
  }

  /**
   * Queues `messages` (in this order, after everything queued before) and resolves once JetStream
   * holds every one of them (stored now, or found a duplicate of an earlier publish).
   * @throws {SinkError} (rejects) when a message keeps failing for `retryFor` ms; `lsn` names the transaction.
   */
  publishAll(messages: readonly Outgoing[], lsn: Lsn): Promise<void> {
    if (messages.length === 0) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      const batch: Batch = { remaining: messages.length, lsn, resolve, reject };
      for (const message of messages) this.queue.push({ message, batch, state: 'queued' });
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
    const token = Number(m.subject.slice(this.inbox.length + 1));
    const w = this.awaiting.get(token);
    if (w === undefined) return; // timed out already
    this.awaiting.delete(token);
    if (m.data.length === 0 || m.headers?.hasError) return w.done(new Error(`JetStream answered ${m.headers?.code ?? ''} ${m.headers?.description ?? 'no responders'}`));
    const text = m.string();
    if (text.includes('"error"')) {
      let description = text;
      try {
        const ack = JSON.parse(text) as { error?: { code: number; err_code?: number; description: string } };
        if (ack.error !== undefined) description = `${ack.error.code}/${ack.error.err_code ?? ''} ${ack.error.description}`;
      } catch {
        // keep the raw text
      }
      return w.done(new Error(`JetStream refused the message: ${description}`));
    }
    if (this.options.onDuplicate !== undefined && text.includes('"duplicate"')) this.options.onDuplicate();
    w.done();
  }

  private pump(): void {
    while (!this.closed && !this.broken && !this.recovering && this.queue.length > 0 && this.sent.length < this.options.window) {
      if (this.chainFrom === undefined && this.sent.length > 0) return; // a chain's first message goes alone
      const entry = this.queue.shift()!;
      entry.state = 'sent';
      this.sent.push(entry);
      const expect = this.chainFrom;
      this.chainFrom = entry.message.msgId;
      this.send(entry.message, expect, (err) => {
        if (err === undefined) return this.settle(entry, 'stored');
        entry.lastError = err;
        entry.firstFailure ??= Date.now();
        this.broken = true;
        this.settle(entry, 'failed');
      });
    }
  }

  private stored(entry: Entry): void {
    entry.state = 'stored';
    if (--entry.batch.remaining === 0) entry.batch.resolve();
  }

  private settle(entry: Entry, state: 'stored' | 'failed'): void {
    if (this.closed) return;
    if (state === 'stored') this.stored(entry);
    else entry.state = 'failed';
    while (this.sent.peek()?.state === 'stored') this.sent.shift();
    if (this.broken) {
      if (this.sent.every((e) => e.state !== 'sent')) void this.recover();
      return;
    }
    // Refill once per burst of PubAcks (the client delivers a socket read's worth in one go), so
    // the next messages leave in one write, not in one write each.
    if (!this.pumpScheduled) {
      this.pumpScheduled = true;
      queueMicrotask(() => {
        this.pumpScheduled = false;
        this.pump();
      });
    }
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
          await new Promise<void>((resolve, reject) => this.send(entry.message, undefined, (err) => (err === undefined ? resolve() : reject(err))));
          this.stored(entry);
          this.chainFrom = entry.message.msgId;
          break;
        } catch (err) {
          entry.lastError = err;
          entry.firstFailure ??= Date.now();
          if (Date.now() - entry.firstFailure >= this.options.retryFor || tooLarge(err)) return this.fail(entry);
          await new Promise((r) => setTimeout(r, Math.min(50 * 2 ** attempt, 1000)));
        }
      }
    }
    this.recovering = false;
    this.broken = false;
    this.pump();
  }

  /** Gives up: rejects this message's transaction and every queued one; nothing after it is stored as acknowledged. */
  private fail(entry: Entry): void {
    this.closed = true;
    clearInterval(this.sweeper);
    const cause = entry.lastError;
    const err = new SinkError(
      tooLarge(cause)
        ? `JetStream cannot take ${entry.message.msgId} on ${entry.message.subject}: ${(cause as Error).message} (raise the server's max_payload, or use mode 'change' for large transactions)`
        : `JetStream did not store ${entry.message.msgId} on ${entry.message.subject} within ${this.options.retryFor} ms: ${cause instanceof Error ? cause.message : String(cause)}`,
      'jetstream',
      entry.batch.lsn,
      { cause },
    );
    entry.batch.reject(err);
    for (const e of this.queue.drain()) e.batch.reject(err);
  }

  /** Publishes with a reply subject of our inbox; `done` gets the PubAck's verdict, or the timeout. */
  private send(message: Outgoing, expectLastMsgId: string | undefined, done: (err?: unknown) => void): void {
    let block = `NATS/1.0\r\n${message.headers}Nats-Msg-Id: ${message.msgId}\r\n`;
    if (expectLastMsgId !== undefined) block += `Nats-Expected-Last-Msg-Id: ${expectLastMsgId}\r\n`;
    block += `${this.streamLine}\r\n`;
    const token = this.nextToken++;
    this.awaiting.set(token, { deadline: Date.now() + this.options.timeout, done });
    this.rawHeaders.bytes = encoder.encode(block);
    this.publishOptions.reply = `${this.inbox}.${token}`;
    try {
      this.nc.publish(message.subject, message.data, this.publishOptions);
    } catch (err) {
      // A closed or draining connection: reported like a failed PubAck, after the caller's loop.
      this.awaiting.delete(token);
      queueMicrotask(() => done(err));
    }
  }
}
