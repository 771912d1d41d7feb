// pg-walstream/sinks/browser: serves a replication pipeline to browsers (WebSocket through the
// optional peer dependency `ws`, and Server-Sent Events). The client is pg-walstream/browser.
export { BrowserHub, type BrowserHubOptions, type BrowserAuthorization, type ConnectionInfo, type BrowserHubStats } from './hub';
export type { RowPredicate } from './subscription';
export type { JsonRow, JsonValue, LiveChange, LiveRowChange, LiveTruncate, LiveTransaction, LiveResync, TableSubscription } from '../../browser/protocol';
