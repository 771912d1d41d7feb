import { type Server, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ConfigurationError } from '../src/errors';
import type { Logger } from '../src/logger';
import { ReplicationMetrics } from '../src/metrics/replication-metrics';
import { slotHealth } from '../src/metrics/slot-health';
import type { SlotWarningThresholds } from '../src/metrics/slot-warnings';
import type { ConnectionOptions } from '../src/wire/config';

/** Options of {@link startMetricsServer}. */
export interface MetricsServerOptions extends ConnectionOptions {
  /** TCP port; 0 picks a free one (see `port` of the result). */
  port: number;
  /** Interface to listen on. Default: all interfaces. */
  host?: string;
  /** The slot whose health is polled and exported. */
  slot: string;
  /** Milliseconds between slot health readings. Default 10000. */
  slotInterval?: number;
  /** When to warn about the slot (logged through `logger`, exported as `pg_walstream_slot_warning`). */
  thresholds?: SlotWarningThresholds;
  logger?: Logger;
}

/** A running `/metrics` endpoint and the observer to hand the stream. */
export interface MetricsServer {
  readonly metrics: ReplicationMetrics;
  readonly port: number;
  close(): Promise<void>;
}

/**
 * Serves Prometheus metrics at `GET /metrics` for `pg-walstream stream --metrics-port N`: the
 * stream's metrics (pass `metrics` as the source's observer), the slot's health polled on a regular
 * connection, and Node.js process metrics. Loads prom-client only here.
 * @throws {ConfigurationError} when prom-client is not installed.
 */
export async function startMetricsServer(options: MetricsServerOptions): Promise<MetricsServer> {
  let prom: typeof import('prom-client');
  let exporter: typeof import('../src/metrics/prometheus');
  try {
    prom = require('prom-client') as typeof import('prom-client');
    exporter = require('../src/metrics/prometheus') as typeof import('../src/metrics/prometheus');
  } catch (err) {
    throw new ConfigurationError(`--metrics-port needs the prom-client package (npm install prom-client): ${(err as Error).message}`);
  }
  const registry = new prom.Registry();
  prom.collectDefaultMetrics({ register: registry });
  const metrics = new ReplicationMetrics({ slot: options.slot });
  const { port: _port, host: _host, slotInterval, thresholds, logger, ...connection } = options;
  const prometheus = new exporter.PrometheusMetrics({ registry })
    .addStream(metrics)
    .addSlot(slotHealth({ ...connection, slot: options.slot, interval: slotInterval, thresholds, metrics, logger }));
  const server: Server = createServer((req, res) => {
    if (req.method !== 'GET' || (req.url ?? '').split('?')[0] !== '/metrics') {
      res.writeHead(404).end('not found: try /metrics\n');
      return;
    }
    registry.metrics().then(
      (text) => res.writeHead(200, { 'Content-Type': registry.contentType }).end(text),
      (err: unknown) => res.writeHead(500).end(`${String(err)}\n`),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => resolve());
  });
  server.unref();
  return {
    metrics,
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        prometheus.close();
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
