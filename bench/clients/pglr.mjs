// Benchmark client: the pg-logical-replication npm package (its PgoutputPlugin, auto-acknowledge
// as configured by default), a no-op consumer, in its own process.
import { createRequire } from 'node:module';
import { performance } from 'node:perf_hooks';

const require = createRequire(import.meta.url);
const { LogicalReplicationService, PgoutputPlugin } = require('pg-logical-replication');

const cfg = JSON.parse(process.argv[2]);
const cpuMs = (u) => (u.user + u.system) / 1000;
const toBig = (lsn) => {
  const [hi, lo] = lsn.split('/');
  return (BigInt(parseInt(hi, 16)) << 32n) | BigInt(parseInt(lo, 16));
};
const endLsn = toBig(cfg.endLsn);

/** Its plugin sends only proto_version, publication_names and messages; binary mode is one more option. */
class Plugin extends PgoutputPlugin {
  start(client, slotName, lastLsn) {
    const opts = [`proto_version '${this.options.protoVersion}'`, `publication_names '${this.options.publicationNames.join(',')}'`];
    if (cfg.options.binary) opts.push(`binary 'true'`);
    return client.query(`START_REPLICATION SLOT "${slotName}" LOGICAL ${lastLsn} (${opts.join(', ')})`);
  }
}

const service = new LogicalReplicationService({ connectionString: cfg.url }, { acknowledge: { auto: true, timeoutSeconds: 10 } });
let events = 0;
let transactions = 0;
let finished = false;
const t0 = performance.now();
const cpu0 = process.cpuUsage(); // CPU of the streaming alone, without process start and module loading
const finish = () => {
  if (finished) return;
  finished = true;
  const streamMs = performance.now() - t0;
  console.log(JSON.stringify({ client: 'pg-logical-replication', events, transactions, streamMs, streamCpuMs: cpuMs(process.cpuUsage(cpu0)) }));
  process.exit(0);
};
service.on('data', (lsn, log) => {
  const t = log.tag;
  if (t === 'insert' || t === 'update' || t === 'delete') events++;
  else if (t === 'commit') transactions++;
  if (toBig(lsn) >= endLsn) finish();
});
service.on('heartbeat', (lsn) => {
  if (toBig(lsn) >= endLsn) finish();
});
service.on('error', (err) => {
  if (finished) return;
  console.error(err);
  process.exit(1);
});
service.subscribe(new Plugin({ protoVersion: cfg.options.protoVersion, publicationNames: [cfg.publication] }), cfg.slot).catch((err) => {
  if (finished) return;
  console.error(err);
  process.exit(1);
});
