import type { IncomingHttpHeaders, IncomingMessage, Server, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { type MonoTypeOperatorFunction, tap } from 'rxjs';
import { ConfigurationError, Lsn } from '../../src';
import { pgTimestampToIso } from '../../src/protocol';
import type { TransactionEvent } from '../../operators';
import { CLOSE_REFUSED, type ErrorMessage, type ServerMessage } from '../../browser/protocol';
import { type Channel, sseChannel, webSocketChannel } from './channels';
import { encodeChanges } from './encode';
import { type RowPredicate, type TableFilter, type ValidRequest, validateRequest, visibleText } from './subscription';
import { ResumeWindow, type WindowEntry } from './window';

/** What the authorization hook knows about a connection. */
export interface ConnectionInfo {
  readonly transport: 'websocket' | 'sse';
  /** The subscription's `token`, if the client sent one. */
  readonly token: string | undefined;
  /** The HTTP request's headers (cookies, Authorization, Origin). */
  readonly headers: IncomingHttpHeaders;
  readonly url: string;
  readonly remoteAddress: string | undefined;
}

/**
 * Decides who sees what. `connection` runs once per connection and returns a principal (any value
 * you like: a user, a set of claims), or a falsy value to refuse. `table` runs once per table the
 * client subscribes to: `false` refuses the whole subscription, `true` allows every row, a
 * function allows the rows it returns true for. Either may be async; a hook that throws refuses.
 */
export interface BrowserAuthorization<P> {
  connection(info: ConnectionInfo): P | false | null | undefined | Promise<P | false | null | undefined>;
  table(principal: P, table: { readonly schema: string; readonly table: string }): boolean | RowPredicate | Promise<boolean | RowPredicate>;
}

/** Options of {@link BrowserHub}. */
export interface BrowserHubOptions<P> {
  readonly authorize: BrowserAuthorization<P>;
  /**
   * Where the stream starts: the slot's `confirmed_flush_lsn` when you start the pipeline. Clients
   * at or past it resume after a restart of this process; without it, a client whose position is
   * older than the first transaction this hub received must resync.
   */
  readonly since?: Lsn | string;
  /** The resume window: default 10 000 transactions and 64 MiB of encoded changes (UTF-16 code units). */
  readonly window?: { readonly maxTransactions?: number; readonly maxBytes?: number };
  /** Per client: stop sending while this many bytes wait in this process (default 1 MiB). A client still this far behind when its position leaves the window is cut off. */
  readonly maxBufferedBytes?: number;
  /** A heartbeat to each client this often (ms, default 15 000): carries the position, keeps proxies from closing idle connections. */
  readonly heartbeatMs?: number;
  /** Default 100. */
  readonly maxTables?: number;
  /** A WebSocket client must subscribe within this time (ms, default 10 000). */
  readonly subscribeTimeoutMs?: number;
}

/** A connected client. */
interface Session {
  readonly channel: Channel;
  filters: Map<string, TableFilter>;
  ready: boolean;
  closed: boolean;
  /** The seq of the next window entry to look at. */
  cursor: number;
  /** The LSN this client has everything up to (what it resumes from), and its text. */
  position: bigint | undefined;
  positionText: string | undefined;
  /** Waiting for its queue to drain. */
  throttled: boolean;
  sentSinceHeartbeat: boolean;
}

/** How many clients are connected, and what the window holds. */
export interface BrowserHubStats {
  readonly clients: number;
  readonly transactions: number;
  readonly bytes: number;
  /** The newest position, `X/Y`. */
  readonly head: string | undefined;
}

/**
 * Serves one replication pipeline to many browsers, over WebSocket (the `ws` package, an optional
 * peer dependency) and Server-Sent Events (`node:http`), each client with its own tables and row
 * predicates, authorized per connection and per table.
 *
 * Put {@link publish} in the pipeline after `bufferTransaction()`: each committed transaction goes
 * into a bounded resume window and out to every client that may see it; the event then passes on,
 * so `ackOnCommit()` after it acknowledges the transaction once it is in the window. Browsers are
 * not durable consumers: what they have not received yet is not worth holding WAL for. To serve
 * browsers next to consumers that are durable, give the hub its own part of `splitFeedback()`:
 * the slot then follows the slowest of them, never the browsers alone.
 *
 * Clients resume by LSN (SSE `Last-Event-ID`, or the WebSocket subscription's `from`): from the
 * window when their position is still in it, else they are told to resync. A client that cannot
 * keep up stops being sent to once `maxBufferedBytes` wait for it; if its position then leaves the
 * window it is cut off, and resyncs when it reconnects. Neither blocks the stream or other clients.
 *
 * Only committed transactions are delivered. A transaction `bufferTransaction` had to chunk
 * (`partial`) and the outcome of a prepared transaction (`commitPrepared`) are not in the window
 * whole: clients are told to resync there.
 *
 * The wire format and its guarantees are in docs/browser.md.
 *
 * @example
 * const hub = new BrowserHub({ authorize: { connection: ({ token }) => users.byToken(token), table: (user, t) => user.canRead(t) } });
 * hub.attach(httpServer, '/changes');
 * events$.pipe(hub.publish(), ackOnCommit(browserFeedback)).subscribe();
 */
export class BrowserHub<P = unknown> {
  private readonly window: ResumeWindow;
  private readonly sessions = new Set<Session>();
  private readonly maxBuffered: number;
  private readonly heartbeatMs: number;
  private readonly maxTables: number;
  private readonly subscribeTimeoutMs: number;
  private readonly heartbeat: NodeJS.Timeout;
  private wss: import('ws').WebSocketServer | undefined;

  constructor(private readonly options: BrowserHubOptions<P>) {
    if (typeof options?.authorize?.connection !== 'function' || typeof options.authorize.table !== 'function') {
      throw new ConfigurationError('BrowserHub: authorize.connection and authorize.table are required');
    }
    const since = options.since === undefined ? undefined : typeof options.since === 'string' ? Lsn.parse(options.since).value : options.since.value;
    this.window = new ResumeWindow(positive(options.window?.maxTransactions, 10_000, 'window.maxTransactions'), positive(options.window?.maxBytes, 64 * 1024 * 1024, 'window.maxBytes'), since);
    this.maxBuffered = positive(options.maxBufferedBytes, 1024 * 1024, 'maxBufferedBytes');
    this.heartbeatMs = positive(options.heartbeatMs, 15_000, 'heartbeatMs');
    this.maxTables = positive(options.maxTables, 100, 'maxTables');
    this.subscribeTimeoutMs = positive(options.subscribeTimeoutMs, 10_000, 'subscribeTimeoutMs');
    this.heartbeat = setInterval(() => this.beat(), this.heartbeatMs);
    this.heartbeat.unref();
  }

  /**
   * The operator that feeds the hub: committed transactions enter the window and go out to the
   * clients; every event passes on unchanged. A transaction at or before the newest one already in
   * the window (redelivered after a reconnection) is not sent again.
   *
   * @throws {ColumnValueError} through the error channel, for a value that cannot be decoded.
   */
  publish<T extends TransactionEvent>(): MonoTypeOperatorFunction<T> {
    return tap((event: T) => {
      if (event.type === 'transaction') {
        if (event.state === 'committed' && !event.partial) this.add(event.endLsn, event.commitTime, event.changes);
        else if (event.state === 'committed') this.gap(event.endLsn);
      } else if (event.type === 'commitPrepared') this.gap(event.endLsn);
    });
  }

  /**
   * Serves `path` on `server`: WebSocket upgrades (needs `ws`) and SSE GET requests. Other
   * requests go to the server's own `request` listeners, as before.
   *
   * @throws {ConfigurationError} when `ws` is not installed and `websocket` is not false.
   */
  attach(server: Server, path: string, options: { websocket?: boolean } = {}): void {
    if (options.websocket !== false) {
      this.webSocketServer();
      server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
        if (!this.handleUpgrade(req, socket, head, path)) socket.destroy();
      });
    }
    const others = server.listeners('request') as ((req: IncomingMessage, res: ServerResponse) => void)[];
    server.removeAllListeners('request');
    server.on('request', (req: IncomingMessage, res: ServerResponse) => {
      if (this.handleRequest(req, res, path)) return;
      if (others.length === 0) res.writeHead(404).end();
      for (const listener of others) listener.call(server, req, res);
    });
  }

  /** Handles an SSE request for `path` (for your own HTTP routing); false when it is not one. */
  handleRequest(req: IncomingMessage, res: ServerResponse, path: string): boolean {
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (url.pathname !== path) return false;
    if (req.method !== 'GET') {
      res.writeHead(405, { allow: 'GET' }).end();
      return true;
    }
    const channel = sseChannel(req, res);
    const session = this.open(channel);
    let request: unknown;
    try {
      request = JSON.parse(url.searchParams.get('subscribe') ?? 'null');
    } catch {
      request = 'not JSON';
    }
    const lastEventId = req.headers['last-event-id'];
    if (typeof lastEventId === 'string' && lastEventId !== '' && typeof request === 'object' && request !== null) request = { ...request, from: lastEventId };
    void this.subscribe(session, req, request);
    return true;
  }

  /** Handles a WebSocket upgrade for `path` (for your own HTTP routing); false when it is not one. */
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer, path: string): boolean {
    if (new URL(req.url ?? '/', 'http://localhost').pathname !== path) return false;
    this.webSocketServer().handleUpgrade(req, socket, head, (ws) => {
      const session = this.open(webSocketChannel(ws));
      const timeout = setTimeout(() => this.refuse(session, 'bad-request', 'no subscription received'), this.subscribeTimeoutMs);
      ws.on('error', () => {}); // a close follows
      ws.once('message', (data, isBinary) => {
        clearTimeout(timeout);
        let request: unknown = 'not JSON';
        try {
          if (!isBinary) request = JSON.parse(String(data));
        } catch {
          // refused below
        }
        void this.subscribe(session, req, request);
      });
      ws.once('close', () => clearTimeout(timeout));
    });
    return true;
  }

  stats(): BrowserHubStats {
    const head = this.window.head;
    const size = this.window.size;
    return { clients: this.sessions.size, transactions: size.transactions, bytes: size.bytes, head: head === undefined ? undefined : Lsn.from(head).toString() };
  }

  /** Disconnects every client and stops the heartbeat. The pipeline is yours to unsubscribe. */
  close(): void {
    clearInterval(this.heartbeat);
    for (const s of this.sessions) s.channel.end(1001, 'server closing');
    this.sessions.clear();
    this.wss?.close();
  }

  private webSocketServer(): import('ws').WebSocketServer {
    if (this.wss) return this.wss;
    let ws: typeof import('ws');
    try {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      ws = require('ws') as typeof import('ws');
    } catch {
      throw new ConfigurationError('pg-walstream/sinks/browser: WebSocket clients need the optional peer dependency ws (npm install ws); pass { websocket: false } to serve SSE only');
    }
    this.wss = new ws.WebSocketServer({ noServer: true, maxPayload: 64 * 1024 });
    return this.wss;
  }

  private open(channel: Channel): Session {
    const session: Session = { channel, filters: new Map(), ready: false, closed: false, cursor: 0, position: undefined, positionText: undefined, throttled: false, sentSinceHeartbeat: false };
    this.sessions.add(session);
    channel.onClose(() => {
      session.closed = true;
      this.sessions.delete(session);
    });
    return session;
  }

  private async subscribe(session: Session, req: IncomingMessage, input: unknown): Promise<void> {
    const request = validateRequest(input, this.maxTables);
    if (typeof request === 'string') return this.refuse(session, 'bad-request', request);
    const filters = await this.authorizeAll(session, req, request);
    if (filters === undefined || session.closed) return;
    session.filters = filters;
    const head = this.window.head;
    const headText = head === undefined ? '0/0' : Lsn.from(head).toString();
    const seq = request.from === undefined ? this.window.nextSeq : this.window.seqAfter(request.from);
    if (seq === undefined) {
      this.send(session, { type: 'resync', lsn: headText, reason: 'behind-window' }, headText);
      this.place(session, this.window.nextSeq, head);
    } else this.place(session, seq, request.from ?? head);
    session.ready = true;
    this.send(session, { type: 'ready', lsn: session.positionText ?? '0/0', heartbeatMs: this.heartbeatMs }, session.positionText);
    this.pump(session);
  }

  /** Runs the hooks; refuses and returns undefined on any refusal. */
  private async authorizeAll(session: Session, req: IncomingMessage, request: ValidRequest): Promise<Map<string, TableFilter> | undefined> {
    const hooks = this.options.authorize;
    let principal: P | false | null | undefined;
    try {
      principal = await hooks.connection({ transport: session.channel.transport, token: request.token, headers: req.headers, url: req.url ?? '', remoteAddress: req.socket.remoteAddress });
    } catch {
      principal = undefined;
    }
    if (principal === undefined || principal === null || principal === false) {
      this.refuse(session, 'unauthorized', 'not authorized');
      return undefined;
    }
    const filters = new Map<string, TableFilter>();
    for (const t of request.tables) {
      let verdict: boolean | RowPredicate;
      try {
        verdict = await hooks.table(principal, { schema: t.schema, table: t.table });
      } catch {
        verdict = false;
      }
      if (verdict === false || (verdict !== true && typeof verdict !== 'function')) {
        this.refuse(session, 'forbidden', `may not read ${t.schema}.${t.table}`);
        return undefined;
      }
      filters.set(`${t.schema}.${t.table}`, { where: t.where, allow: verdict === true ? undefined : verdict });
    }
    return filters;
  }

  private refuse(session: Session, code: ErrorMessage['code'], message: string): void {
    if (session.closed) return;
    this.send(session, { type: 'error', code, message }, undefined);
    session.channel.end(CLOSE_REFUSED, code);
    session.closed = true;
    this.sessions.delete(session);
  }

  private place(session: Session, cursor: number, position: bigint | undefined): void {
    session.cursor = cursor;
    session.position = position;
    session.positionText = position === undefined ? undefined : Lsn.from(position).toString();
  }

  private add(endLsn: Lsn, commitTime: bigint, changes: Parameters<typeof encodeChanges>[0]): void {
    const head = this.window.head;
    if (head !== undefined && endLsn.value <= head) return; // redelivered after a reconnection
    // Nothing to show a browser, so no room in the window: PostgreSQL 14 sends other sessions' empty transactions.
    if (changes.length === 0) return;
    this.window.push(endLsn.value, endLsn.toString(), pgTimestampToIso(commitTime), encodeChanges(changes));
    for (const s of this.sessions) this.pump(s);
  }

  /** Continuity is lost at `lsn`: every client resyncs there. */
  private gap(lsn: Lsn): void {
    const head = this.window.head;
    if (head !== undefined && lsn.value <= head) return;
    this.window.reset(lsn.value);
    for (const s of this.sessions) if (s.ready && !s.closed) this.resync(s, 'gap');
  }

  /** The client cannot have what it missed: it starts again at the head, or is cut off when it is too slow for that. */
  private resync(session: Session, reason: 'behind-window' | 'gap'): void {
    const channel = session.channel;
    if (channel.pendingBytes >= this.maxBuffered) {
      // Too slow to catch up: drop the connection and what is queued; it resyncs on reconnecting.
      session.closed = true;
      this.sessions.delete(session);
      channel.destroy();
      return;
    }
    this.place(session, this.window.nextSeq, this.window.head);
    this.send(session, { type: 'resync', lsn: session.positionText ?? '0/0', reason }, session.positionText);
  }

  /** Sends what the client is owed, until its queue is full. */
  private pump(session: Session): void {
    if (!session.ready || session.closed) return;
    const channel = session.channel;
    if (session.cursor < this.window.firstSeq) {
      this.resync(session, 'behind-window');
      if (session.closed) return;
    }
    while (session.cursor < this.window.nextSeq) {
      if (channel.pendingBytes >= this.maxBuffered) {
        session.throttled = true;
        return;
      }
      const entry = this.window.at(session.cursor++);
      if (session.position !== undefined && entry.lsn <= session.position) continue;
      const text = render(session, entry);
      session.position = entry.lsn;
      session.positionText = entry.lsnText;
      if (text !== undefined) this.sendText(session, text, entry.lsnText);
    }
    session.throttled = false;
  }

  private beat(): void {
    for (const s of this.sessions) {
      if (s.ready && !s.throttled && !s.sentSinceHeartbeat) this.send(s, { type: 'heartbeat', lsn: s.positionText ?? '0/0' }, s.positionText);
      s.sentSinceHeartbeat = false;
    }
  }

  private send(session: Session, msg: ServerMessage, id: string | undefined): void {
    this.sendText(session, JSON.stringify(msg), id);
  }

  private sendText(session: Session, text: string, id: string | undefined): void {
    session.sentSinceHeartbeat = true;
    session.channel.send(text, id, () => {
      if (session.throttled && !session.closed && session.channel.pendingBytes < this.maxBuffered) this.pump(session);
    });
  }
}

/** The transaction message for this client, or undefined when nothing in it is for them. */
function render(session: Session, entry: WindowEntry): string | undefined {
  let body: string | undefined;
  for (const c of entry.changes) {
    const filter = session.filters.get(c.table);
    if (filter === undefined) continue;
    const text = visibleText(c, filter);
    if (text === undefined) continue;
    body = body === undefined ? text : `${body},${text}`;
  }
  if (body === undefined) return undefined;
  return `{"type":"transaction","lsn":"${entry.lsnText}","commitTime":"${entry.commitTime}","changes":[${body}]}`;
}

function positive(value: number | undefined, fallback: number, name: string): number {
  if (value === undefined) return fallback;
  if (!(typeof value === 'number' && value > 0)) throw new ConfigurationError(`BrowserHub: ${name} must be a positive number, got ${value}`);
  return value;
}
