// The two ways to reach the server, behind one small interface. Only the browser's own WebSocket
// and EventSource (or constructors with the same shape) are used, so the module needs no DOM
// typings and no Node module.
import type { SubscribeRequest } from './protocol.js';

/** The part of the WebSocket API the client uses. */
export interface WebSocketLike {
  onopen: ((event: unknown) => void) | null;
  onmessage: ((event: { data: unknown }) => void) | null;
  onclose: ((event: { code: number; reason: string }) => void) | null;
  onerror: ((event: unknown) => void) | null;
  send(data: string): void;
  close(code?: number, reason?: string): void;
}
export type WebSocketConstructor = new (url: string) => WebSocketLike;

/** The part of the EventSource API the client uses. */
export interface EventSourceLike {
  onmessage: ((event: { data: unknown }) => void) | null;
  onerror: ((event: unknown) => void) | null;
  close(): void;
}
export type EventSourceConstructor = new (url: string, init?: { withCredentials?: boolean }) => EventSourceLike;

/** An open (or opening) connection: `close()` ends it without calling `onClose`. */
export interface Connection {
  close(): void;
}

export interface ConnectionHandlers {
  onMessage(text: string): void;
  /** The connection ended or could not open. Called at most once. */
  onClose(): void;
}

export function openWebSocket(Ctor: WebSocketConstructor, url: string, request: SubscribeRequest, h: ConnectionHandlers): Connection {
  const ws = new Ctor(url);
  let open = true;
  ws.onopen = () => ws.send(JSON.stringify(request));
  ws.onmessage = (event) => {
    if (open && typeof event.data === 'string') h.onMessage(event.data);
  };
  ws.onerror = () => {}; // a close event follows
  ws.onclose = () => {
    if (!open) return;
    open = false;
    h.onClose();
  };
  return {
    close() {
      open = false;
      ws.close(1000);
    },
  };
}

/**
 * Server-Sent Events. EventSource cannot send headers, so the subscription (token included) goes
 * in the query string. EventSource's own reconnection is not used: the client reconnects itself,
 * with its resume position and backoff.
 */
export function openEventSource(Ctor: EventSourceConstructor, url: string, request: SubscribeRequest, withCredentials: boolean, h: ConnectionHandlers): Connection {
  const { type: _type, ...query } = request;
  const es = new Ctor(`${url}${url.includes('?') ? '&' : '?'}subscribe=${encodeURIComponent(JSON.stringify(query))}`, { withCredentials });
  let open = true;
  es.onmessage = (event) => {
    if (open && typeof event.data === 'string') h.onMessage(event.data);
  };
  es.onerror = () => {
    if (!open) return;
    open = false;
    es.close();
    h.onClose();
  };
  return {
    close() {
      open = false;
      es.close();
    },
  };
}
