/**
 * The server refused the subscription (`unauthorized`, `forbidden`, `bad-request`), or sent
 * something that is not a message of the protocol (`bad-message`). Reconnecting would not help, so
 * the Observable errors with it.
 */
export class LiveFeedError extends Error {
  override readonly name = 'LiveFeedError';
  constructor(
    readonly code: 'unauthorized' | 'forbidden' | 'bad-request' | 'bad-message',
    message: string,
  ) {
    super(message);
  }
}
