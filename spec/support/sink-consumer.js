// A consumer process for the sink tests: streams a slot into one sink, acknowledging only what the
// sink has made durable. The tests SIGKILL it mid-stream and start another.
// Usage: node sink-consumer.js '<json config>'  (runs against the build: dist/cjs)
//   { kind: 'jetstream' | 'redis' | 'postgres', url, slot, publication, servers?, stream?, subject?, redisUrl?, key?, target? }
const { LsnFeedback, logicalReplication } = require('../../dist/cjs/src');
const { ackOnCommit, bufferTransaction, parsePgoutput, retryWithBackoff } = require('../../dist/cjs/operators');

const config = JSON.parse(process.argv[2]);

async function sinkOf() {
  if (config.kind === 'jetstream') {
    const { connect } = require('@nats-io/transport-node');
    const { jetstreamSink } = require('../../dist/cjs/sinks/jetstream');
    const nc = await connect({ servers: config.servers, maxReconnectAttempts: -1, reconnectTimeWait: 200 });
    return jetstreamSink({ nc, subjectPrefix: config.subject, stream: config.stream, timeout: 2000 });
  }
  if (config.kind === 'redis') {
    const { Redis } = require('ioredis');
    const { redisSink } = require('../../dist/cjs/sinks/redis');
    const redis = new Redis(config.redisUrl, { maxRetriesPerRequest: null, retryStrategy: () => 100 });
    return redisSink({ redis, key: config.key });
  }
  const { postgresApply } = require('../../dist/cjs/sinks/postgres');
  return postgresApply({ connection: config.target, name: config.name });
}

sinkOf().then((sink) => {
  const feedback = new LsnFeedback();
  logicalReplication({ connectionString: config.url, slot: config.slot, publications: config.publication, feedback, statusInterval: 100 })
    .pipe(parsePgoutput(), bufferTransaction(), retryWithBackoff({ initialDelay: 50, maxDelay: 500 }), sink, ackOnCommit(feedback))
    .subscribe({
      next(event) {
        if (event.type === 'transaction') process.stdout.write(`A ${event.endLsn.toString()}\n`);
      },
      error(err) {
        process.stderr.write(`E ${err.name}: ${err.message}\n`);
        process.exit(1);
      },
    });
});
