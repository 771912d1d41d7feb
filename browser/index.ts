// pg-walstream/browser: PostgreSQL changes as an RxJS Observable in the browser. ESM, no Node
// modules; rxjs is its only dependency. The server side is pg-walstream/sinks/browser.
export { liveChanges, type LiveEvent, type LiveChangesOptions } from './live-changes.js';
export { LiveFeedError } from './errors.js';
export type {
  JsonValue,
  JsonRow,
  TableSubscription,
  LiveChange,
  LiveRowChange,
  LiveTruncate,
  LiveTransaction,
  LiveResync,
} from './protocol.js';
export type { WebSocketConstructor, WebSocketLike, EventSourceConstructor, EventSourceLike } from './transports.js';
