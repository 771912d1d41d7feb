// `pg-walstream stream --to URL`: turns a URL into a sink operator and runs the pipeline into it.
// The sinks' engines (nats, ioredis) are optional peer dependencies, loaded only for their scheme.
import type { Redis } from 'ioredis';
import type { MonoTypeOperatorFunction } from 'rxjs';
import { ackLsnOf, ackOnCommit } from '../operators/ack-on-commit';
import { type TransactionEvent, bufferTransaction } from '../operators/buffer-transaction';
import { parsePgoutput } from '../operators/parse-pgoutput';
import { retryWithBackoff } from '../operators/retry-with-backoff';
import { ConfigurationError } from '../src/errors';
import type { Lsn } from '../src/lsn';
import { LsnFeedback } from '../src/source/feedback';
import { type LogicalReplicationOptions, logicalReplication } from '../src/source/logical';

/** A sink opened from a URL, and how to close its connection. */
export interface SinkTarget {
  readonly operator: MonoTypeOperatorFunction<TransactionEvent>;
  close(): Promise<void>;
}

function optionalPeer<T>(name: string, load: () => T): T {
  try {
    return load();
  } catch (err) {
    if ((err as { code?: string }).code === 'MODULE_NOT_FOUND') throw new ConfigurationError(`--to needs the optional package ${name}: npm install ${name}`);
    throw err;
  }
}

/**
 * Opens the sink a `--to` URL names:
 * - `nats://host:port[,host:port…]?stream=NAME&subject=PREFIX` → `jetstreamSink` (subject required);
 * - `redis://host:port[/db]?stream=KEY[&maxlen=N]` (or `rediss://`) → `redisSink`;
 * - `postgres://…` or `postgresql://…` → `postgresApply` (libpq keywords in the query work as usual).
 * @throws {ConfigurationError} for another scheme, a missing parameter, or a missing optional package.
 * @example
 * const { operator, close } = await sinkTarget('redis://127.0.0.1:6379?stream=cdc');
 */
export async function sinkTarget(url: string): Promise<SinkTarget> {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new ConfigurationError(`--to: not a URL: ${JSON.stringify(url)}`);
  }
  const param = (name: string, required: boolean) => {
    const v = parsed.searchParams.get(name);
    if (required && !v) throw new ConfigurationError(`--to ${parsed.protocol}//… needs ?${name}=`);
    return v ?? undefined;
  };
  switch (parsed.protocol) {
    case 'nats:': {
      const subject = param('subject', true)!;
      const stream = param('stream', false);
      const { connect } = optionalPeer('@nats-io/transport-node', () => require('@nats-io/transport-node') as typeof import('@nats-io/transport-node'));
      const { jetstreamSink } = require('../sinks/jetstream') as typeof import('../sinks/jetstream');
      const servers = parsed.host.split(',').map((h) => `nats://${h}`);
      const nc = await connect({ servers, maxReconnectAttempts: -1, user: decodeURIComponent(parsed.username) || undefined, pass: decodeURIComponent(parsed.password) || undefined });
      return { operator: jetstreamSink({ nc, subjectPrefix: subject, stream }), close: () => nc.drain() };
    }
    case 'redis:':
    case 'rediss:': {
      const key = param('stream', true)!;
      const maxlen = param('maxlen', false);
      const { Redis: RedisClient } = optionalPeer('ioredis', () => require('ioredis') as typeof import('ioredis'));
      const { redisSink } = require('../sinks/redis') as typeof import('../sinks/redis');
      const base = new URL(url);
      base.search = '';
      const redis: Redis = new RedisClient(base.toString(), { maxRetriesPerRequest: null });
      const trim = maxlen === undefined ? undefined : { maxLen: Number(maxlen) };
      return { operator: redisSink({ redis, key, trim }), close: async () => void (await redis.quit()) };
    }
    case 'postgres:':
    case 'postgresql:': {
      const { postgresApply } = require('../sinks/postgres') as typeof import('../sinks/postgres');
      return { operator: postgresApply({ connection: url }), close: async () => undefined };
    }
    default:
      throw new ConfigurationError(`--to: unsupported scheme ${parsed.protocol} (use nats://, redis://, rediss://, postgres://)`);
  }
}

/** Options of {@link runStreamTo}: the stream's options, the sink URL, endpos and a stop signal. */
export interface StreamToOptions extends LogicalReplicationOptions {
  to: string;
  endpos?: Lsn;
  stopSignal?: Promise<void>;
}

/**
 * Streams the slot into the sink at `to` until `endpos`, a stop signal or an error. A transaction
 * is acknowledged only after the sink made it durable (PubAck, Redis reply, target COMMIT).
 */
export async function runStreamTo(options: StreamToOptions): Promise<void> {
  const target = await sinkTarget(options.to);
  const feedback = options.feedback ?? new LsnFeedback();
  try {
    await new Promise<void>((resolve, reject) => {
      const subscription = logicalReplication({ ...options, feedback })
        .pipe(parsePgoutput(), bufferTransaction(), retryWithBackoff(), target.operator, ackOnCommit(feedback))
        .subscribe({
          next(event) {
            const lsn = ackLsnOf(event);
            if (options.endpos !== undefined && lsn !== undefined && lsn.value >= options.endpos.value) {
              subscription.unsubscribe();
              resolve();
            }
          },
          error: reject,
          complete: resolve,
        });
      options.stopSignal?.then(() => {
        subscription.unsubscribe();
        resolve();
      });
    });
  } finally {
    await target.close();
  }
}
