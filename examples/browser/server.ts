// Live orders in the browser: an embedded PostgreSQL, one replication pipeline served to browsers
// by BrowserHub (WebSocket and SSE on /changes), and a plain page (index.html) that shows the
// orders as they are committed. Open the printed URL in a few tabs.
// Run: npm run example:browser
// In your own code, import from 'pg-walstream', 'pg-walstream/operators' and
// 'pg-walstream/sinks/browser' instead of the relative paths.
import { existsSync, readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { join, normalize } from 'node:path';
import { LsnFeedback, logicalReplication } from '../../src';
import { ackOnCommit, bufferTransaction, parsePgoutput, retryWithBackoff } from '../../operators';
import { BrowserHub } from '../../sinks/browser';
import { sleep, startDemo } from '../setup';

const root = join(__dirname, '../..');
// The page loads pg-walstream/browser and rxjs as ES modules. An app built with a bundler (Angular
// CLI, Vite) bundles them instead; this server only serves the files as they are.
const files: [prefix: string, dir: string][] = [
  ['/pg-walstream/browser/', join(root, 'dist/esm/browser')],
  ['/rxjs/', join(root, 'node_modules/rxjs/dist/esm')],
  ['/tslib/', join(root, 'node_modules/tslib')],
];

async function main() {
  const demo = await startDemo();
  const since = (await demo.sql.query(`SELECT confirmed_flush_lsn::text AS l FROM pg_replication_slots WHERE slot_name = 'shop'`)).rows[0].l as string;
  const hub = new BrowserHub({
    // Everybody with the demo token may read public.orders; nothing else.
    authorize: {
      connection: ({ token }) => (token === 'demo-token' ? { user: 'demo' } : undefined),
      table: (_user, t) => t.schema === 'public' && t.table === 'orders',
    },
    since, // clients resume across a restart of this process from the slot's position
  });
  const http = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://localhost').pathname;
    if (path === '/') return void res.writeHead(200, { 'content-type': 'text/html' }).end(readFileSync(join(__dirname, 'index.html')));
    for (const [prefix, dir] of files) {
      const rel = normalize(path.slice(prefix.length));
      if (!path.startsWith(prefix) || rel.startsWith('..')) continue;
      const file = [join(dir, rel), join(dir, rel + '.js')].find((f) => existsSync(f) && !f.endsWith('/'));
      if (file) return void res.writeHead(200, { 'content-type': 'text/javascript' }).end(readFileSync(file));
    }
    res.writeHead(404).end();
  });
  hub.attach(http, '/changes');
  await new Promise<void>((r) => http.listen(Number(process.env.PORT ?? 0), '127.0.0.1', r));

  const feedback = new LsnFeedback();
  const pipeline = logicalReplication({ connectionString: demo.server.url, slot: 'shop', publications: 'shop', feedback })
    .pipe(parsePgoutput(), bufferTransaction(), retryWithBackoff(), hub.publish(), ackOnCommit(feedback))
    .subscribe();
  const address = http.address();
  console.log(`open http://127.0.0.1:${typeof address === 'object' && address ? address.port : ''}/ (Ctrl-C to stop); inserting an order every second`);

  let stopping = false;
  process.once('SIGINT', () => (stopping = true));
  for (let id = 1; !stopping; id++) {
    await demo.insertOrders(1, id);
    await sleep(1000);
  }
  pipeline.unsubscribe();
  hub.close();
  http.close();
  await demo.close();
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
