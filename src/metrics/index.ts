// pg-walstream/metrics: stream metrics, slot health and warnings. No optional dependency here;
// the exporters are pg-walstream/metrics/prometheus and pg-walstream/metrics/opentelemetry.
export { ReplicationMetrics, type ReplicationMetricsOptions, type ReplicationMetricsSnapshot } from './replication-metrics';
export { slotHealth, slotHealthQuery, type SlotHealth, type SlotHealthOptions, type WalStatus } from './slot-health';
export { slotWarnings, type SlotWarning, type SlotWarningKind, type SlotWarningThresholds } from './slot-warnings';
export { retryLogger } from './retry-logger';
export type { Logger, LoggedError } from '../logger';
export type { ReplicationObserver, SourceConnected, ObservabilityOptions } from '../source/observer';
