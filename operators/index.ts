export { parsePgoutput } from './parse-pgoutput';
export type { ParsePgoutputOptions } from './parse-pgoutput';
export { forTable } from './for-table';
export { bufferTransaction, TransactionTooLargeError, type Transaction, type TransactionChunk, type TransactionEvent, type BufferTransactionOptions } from './buffer-transaction';
export { ackOnCommit, ackLsnOf, type Acknowledger } from './ack-on-commit';
export { retryWithBackoff, isRetryableError, type RetryEvent, type RetryWithBackoffOptions } from './retry-with-backoff';
export { rateLimit, type RateLimitOptions } from './rate-limit';
export { splitFeedback } from './split-feedback';
