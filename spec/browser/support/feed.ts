// The server side of the browser tests: a pipeline from a slot into a BrowserHub, served over HTTP
// on 127.0.0.1 with the test page, pg-walstream/browser (dist/esm/browser) and rxjs's ES build.
import { existsSync, readFileSync } from 'node:fs';
import { type Server, createServer } from 'node:http';
import { join, normalize } from 'node:path';
import type { Subscription } from 'rxjs';
import { LsnFeedback, logicalReplication } from '../../../src';
import { type BufferTransactionOptions, type RetryEvent, type TransactionEvent, ackOnCommit, bufferTransaction, parsePgoutput, retryWithBackoff } from '../../../operators';
import { type BrowserAuthorization, BrowserHub, type BrowserHubOptions } from '../../../sinks/browser';
import { freePort } from '../../../src/embedded';

const root = join(__dirname, '../../..');
const STATIC: [prefix: string, dir: string][] = [
  ['/pkg/browser/', join(root, 'dist/esm/browser')],
  ['/rxjs/', join(root, 'node_modules/rxjs/dist/esm')],
  ['/tslib/', join(root, 'node_modules/tslib')],
];

export interface Feed {
  readonly port: number;
  readonly hub: BrowserHub<Principal>;
  readonly feedback: LsnFeedback;
  readonly retries: RetryEvent[];
  /** Transactions with changes the hub has published. */
  readonly published: number;
  readonly error: unknown;
  /** Unsubscribes the pipeline, disconnects every client and closes the HTTP server. */
  stop(): Promise<void>;
}

export interface Principal {
  readonly name: string;
  readonly tables: readonly string[];
}

/** Tokens the test authorization knows: `alice` may read `items`; anything else is refused. */
export function testAuthorization(tables: readonly string[]): BrowserAuthorization<Principal> {
  return {
    connection: ({ token }) => (token === 'alice-token' ? { name: 'alice', tables } : undefined),
    table: (p, t) => p.tables.includes(`${t.schema}.${t.table}`),
  };
}

export interface FeedOptions {
  url: string;
  slot: string;
  publication: string;
  /** Default: a free one. Pass the old port to restart the adapter where the tabs expect it. */
  port?: number;
  hub: BrowserHubOptions<Principal>;
  /** Called with every event after the hub and ackOnCommit. */
  tap?: (event: TransactionEvent) => void;
  buffer?: BufferTransactionOptions;
}

export async function startFeed(o: FeedOptions): Promise<Feed> {
  const port = o.port ?? (await freePort());
  const hub = new BrowserHub<Principal>(o.hub);
  const feedback = new LsnFeedback();
  const retries: RetryEvent[] = [];
  const state = { published: 0, error: undefined as unknown };
  const server: Server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://localhost').pathname;
    if (path === '/page.html') return void res.writeHead(200, { 'content-type': 'text/html' }).end(readFileSync(join(__dirname, 'page.html')));
    for (const [prefix, dir] of STATIC) {
      if (!path.startsWith(prefix)) continue;
      const rel = normalize(path.slice(prefix.length));
      if (rel.startsWith('..')) break;
      // rxjs's ES build imports without extensions, as bundlers allow; a browser needs the file name.
      const file = [join(dir, rel), join(dir, rel + '.js')].find((f) => existsSync(f) && !f.endsWith('/'));
      if (file) return void res.writeHead(200, { 'content-type': 'text/javascript', 'cache-control': 'max-age=600' }).end(readFileSync(file));
      break;
    }
    if (path === '/favicon.ico') return void res.writeHead(204).end();
    res.writeHead(404).end();
  });
  hub.attach(server, '/changes');
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
  const subscription: Subscription = logicalReplication({ connectionString: o.url, slot: o.slot, publications: o.publication, feedback, statusInterval: 100 })
    .pipe(
      parsePgoutput(),
      bufferTransaction(o.buffer),
      retryWithBackoff({ initialDelay: 50, maxDelay: 500, onRetry: (e) => retries.push(e) }),
      hub.publish(),
      ackOnCommit(feedback),
    )
    .subscribe({
      next: (event) => {
        // Transactions with changes: PostgreSQL 14 also sends other sessions' empty ones.
        if (event.type === 'transaction' && event.changes.length > 0) state.published++;
        o.tap?.(event);
      },
      error: (err) => (state.error = err),
    });
  return {
    port,
    hub,
    feedback,
    retries,
    get published() {
      return state.published;
    },
    get error() {
      return state.error;
    },
    async stop() {
      subscription.unsubscribe();
      hub.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
