import { Observable, type Subscription, timer } from 'rxjs';
import { LiveFeedError } from './errors.js';
import { type LiveResync, type LiveTransaction, type ServerMessage, type SubscribeRequest, type TableSubscription, lsnValue } from './protocol.js';
import {
  type Connection,
  type ConnectionHandlers,
  type EventSourceConstructor,
  type WebSocketConstructor,
  openEventSource,
  openWebSocket,
} from './transports.js';

/** What {@link liveChanges} emits: committed transactions in commit order, and resyncs. */
export type LiveEvent = LiveTransaction | LiveResync;

/** Options of {@link liveChanges}. */
export interface LiveChangesOptions {
  /** `ws://` or `wss://` for WebSocket; `http://`, `https://` or a path for Server-Sent Events. */
  readonly url: string;
  /** Tables by name (`'items'`, `'shop.orders'`) or with a row predicate. */
  readonly tables: readonly (string | TableSubscription)[];
  /** Passed to the server's authorization hook. A function is called at each (re)connection. */
  readonly token?: string | (() => string | undefined);
  /** Resume after this LSN (a `lsn` you received earlier, kept across page loads). Default: from now. */
  readonly from?: string;
  /** Default: from the URL's scheme. */
  readonly transport?: 'websocket' | 'sse';
  /** Reconnection backoff: the delay doubles from `initialDelayMs` (default 250) up to `maxDelayMs` (default 10 000), with jitter. */
  readonly reconnect?: { readonly initialDelayMs?: number; readonly maxDelayMs?: number };
  /** SSE only: send cookies to another origin. */
  readonly withCredentials?: boolean;
  /** Told when the feed is `connecting`, `live` (subscribed; what follows is in order) or `reconnecting` (after a drop, waiting for the backoff). */
  readonly onStatus?: (status: 'connecting' | 'live' | 'reconnecting') => void;
  /** Default: the browser's `WebSocket`. */
  readonly WebSocket?: WebSocketConstructor;
  /** Default: the browser's `EventSource`. */
  readonly EventSource?: EventSourceConstructor;
}

/**
 * A cold Observable of the changes the server adapter (`pg-walstream/sinks/browser`) streams: each
 * committed transaction's changes to the subscribed tables, in commit order, each exactly once.
 *
 * Subscribing connects (WebSocket or Server-Sent Events) and subscribes to `tables`. When the
 * connection drops or the server restarts, it reconnects with backoff and resumes after the last
 * LSN it received, so nothing is missed and nothing repeats. When the server cannot resume it (the
 * client fell out of its window or was too slow), a `resync` event comes first: reload your state,
 * then apply what follows. Unsubscribing closes the connection.
 *
 * Errors: {@link LiveFeedError} when the server refuses the subscription (`unauthorized`,
 * `forbidden`, `bad-request`) or sends a malformed message; the `TypeError` or `SyntaxError` of a
 * missing `WebSocket`/`EventSource` or a malformed URL. Reconnection would not help with these.
 * Network failures are retried forever and never reach the error channel.
 *
 * The wire format is in docs/browser.md; rows are written as `pg-walstream stream` writes them
 * (docs/json-output.md).
 *
 * @example
 * liveChanges({ url: 'wss://example.com/changes', tables: ['items'], token })
 *   .subscribe((event) => (event.type === 'resync' ? reload() : apply(event.changes)));
 */
export function liveChanges(options: LiveChangesOptions): Observable<LiveEvent> {
  const tables = options.tables.map((t) => (typeof t === 'string' ? tableOf(t) : t));
  const transport = options.transport ?? (/^wss?:/i.test(options.url) ? 'websocket' : 'sse');
  const initialDelay = options.reconnect?.initialDelayMs ?? 250;
  const maxDelay = options.reconnect?.maxDelayMs ?? 10_000;
  if (options.from !== undefined && lsnValue(options.from) === undefined) throw new TypeError(`liveChanges: from must be an LSN like 16/B374D900, got ${options.from}`);

  return new Observable<LiveEvent>((subscriber) => {
    let position = options.from;
    let connection: Connection | undefined;
    let attempt = 0;
    let pending: Subscription | undefined; // the reconnection timer
    let watchdog: Subscription | undefined; // no sign of life for 3 heartbeats: the connection is dead
    let heartbeatMs = 0;
    let stopped = false;

    const advance = (lsn: string) => {
      const value = lsnValue(lsn);
      const current = position === undefined ? undefined : lsnValue(position);
      if (value !== undefined && (current === undefined || value > current)) position = lsn;
    };

    const stop = () => {
      stopped = true;
      pending?.unsubscribe();
      watchdog?.unsubscribe();
      connection?.close();
      connection = undefined;
    };

    const reconnect = () => {
      watchdog?.unsubscribe();
      connection?.close();
      connection = undefined;
      if (stopped) return;
      options.onStatus?.('reconnecting');
      const base = Math.min(maxDelay, initialDelay * 2 ** attempt++);
      pending = timer(base / 2 + (Math.random() * base) / 2).subscribe(connect);
    };

    const alive = () => {
      watchdog?.unsubscribe();
      if (heartbeatMs > 0) watchdog = timer(3 * heartbeatMs).subscribe(reconnect);
    };

    const fail = (error: LiveFeedError) => {
      stop();
      subscriber.error(error);
    };

    const onMessage = (text: string) => {
      let msg: ServerMessage;
      try {
        msg = JSON.parse(text) as ServerMessage;
      } catch {
        return fail(new LiveFeedError('bad-message', `not JSON: ${text.slice(0, 80)}`));
      }
      switch (msg.type) {
        case 'ready':
          attempt = 0;
          heartbeatMs = msg.heartbeatMs;
          advance(msg.lsn);
          options.onStatus?.('live');
          break;
        case 'heartbeat':
          advance(msg.lsn);
          break;
        case 'transaction': {
          const value = lsnValue(msg.lsn);
          const current = position === undefined ? undefined : lsnValue(position);
          if (value === undefined) return fail(new LiveFeedError('bad-message', `transaction without an LSN: ${text.slice(0, 80)}`));
          if (current !== undefined && value <= current) break; // seen already
          position = msg.lsn;
          subscriber.next(msg);
          break;
        }
        case 'resync':
          position = msg.lsn; // the server's position; what follows starts after it
          subscriber.next(msg);
          break;
        case 'error':
          return fail(new LiveFeedError(msg.code, msg.message));
        default:
          return fail(new LiveFeedError('bad-message', `unknown message: ${text.slice(0, 80)}`));
      }
      if (!stopped) alive();
    };

    function connect() {
      if (stopped) return;
      const token = typeof options.token === 'function' ? options.token() : options.token;
      const request: SubscribeRequest = { type: 'subscribe', tables, ...(token === undefined ? {} : { token }), ...(position === undefined ? {} : { from: position }) };
      const handlers: ConnectionHandlers = { onMessage, onClose: reconnect };
      options.onStatus?.('connecting');
      try {
        connection =
          transport === 'websocket'
            ? openWebSocket(options.WebSocket ?? globalConstructor<WebSocketConstructor>('WebSocket'), options.url, request, handlers)
            : openEventSource(options.EventSource ?? globalConstructor<EventSourceConstructor>('EventSource'), options.url, request, options.withCredentials ?? false, handlers);
      } catch (err) {
        // No WebSocket/EventSource, or a URL the constructor rejects: retrying would not help.
        stop();
        subscriber.error(err);
      }
    }

    connect();
    return stop;
  });
}

/** `'items'` → public.items; `'shop.orders'` → shop.orders. */
function tableOf(name: string): TableSubscription {
  const dot = name.indexOf('.');
  return dot < 0 ? { table: name } : { schema: name.slice(0, dot), table: name.slice(dot + 1) };
}

function globalConstructor<T>(name: 'WebSocket' | 'EventSource'): T {
  const ctor = (globalThis as Record<string, unknown>)[name];
  if (typeof ctor !== 'function') throw new TypeError(`liveChanges: no global ${name}; pass options.${name}`);
  return ctor as T;
}
