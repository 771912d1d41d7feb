/**
 * Every error pg-walstream raises extends `WalstreamError`, so one `instanceof` check separates
 * them from bugs. Each subclass adds the fields that locate the fault: SQLSTATE, LSN, byte offset.
 */
export class WalstreamError extends Error {
  override name = 'WalstreamError';
}

/** Fields of a PostgreSQL ErrorResponse or NoticeResponse ("Error and Notice Message Fields" in the protocol docs). */
export interface PgErrorFields {
  severity?: string;
  code: string;
  message: string;
  detail?: string;
  hint?: string;
  position?: string;
  where?: string;
  schema?: string;
  table?: string;
  column?: string;
  constraint?: string;
  file?: string;
  line?: string;
  routine?: string;
}

/**
 * An ErrorResponse from the server. `code` is the SQLSTATE (e.g. `42704` for a missing slot,
 * `28P01` for a wrong password, `42710` for a slot that already exists). Match on `code`, never on
 * `message`, which the server translates.
 */
export class PgError extends WalstreamError {
  override name = 'PgError';
  readonly severity?: string;
  readonly code: string;
  readonly detail?: string;
  readonly hint?: string;
  readonly where?: string;
  readonly routine?: string;

  constructor(fields: PgErrorFields) {
    super(fields.message);
    this.severity = fields.severity;
    this.code = fields.code;
    this.detail = fields.detail;
    this.hint = fields.hint;
    this.where = fields.where;
    this.routine = fields.routine;
  }

  /** The SQLSTATE class: its first two characters (`08` connection exception, `28` authorization). */
  get sqlstateClass(): string {
    return this.code.slice(0, 2);
  }
}

/** The socket failed, closed early, or could not be opened. `cause` holds the system error, if any. */
export class ConnectionError extends WalstreamError {
  override name = 'ConnectionError';
  readonly code?: string;
  constructor(message: string, options?: { cause?: unknown; code?: string }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.code = options?.code ?? (options?.cause as NodeJS.ErrnoException | undefined)?.code;
  }
}

/** The server said something the protocol does not allow at that point (an unexpected message, a bad length). */
export class ProtocolError extends WalstreamError {
  override name = 'ProtocolError';
}

/** Authentication could not proceed: an unsupported method, a SCRAM exchange that fails verification. */
export class AuthenticationError extends WalstreamError {
  override name = 'AuthenticationError';
}

/** A malformed LSN string. `input` holds the text that was rejected. */
export class LsnFormatError extends WalstreamError {
  override name = 'LsnFormatError';
  constructor(readonly input: string) {
    super(`invalid LSN ${JSON.stringify(input)}: expected X/Y with 1 to 8 hexadecimal digits on each side`);
  }
}

/** Options that cannot work together, or that the server or protocol version cannot take. */
export class ConfigurationError extends WalstreamError {
  override name = 'ConfigurationError';
}

/**
 * A replication frame or pgoutput message that could not be decoded: an unknown tag, a field that
 * runs past the end of the frame, a relation OID that was never announced.
 * `tag` is the message tag character, `lsn` the XLogData position, `offset` the byte offset in the payload.
 */
export class ParseError extends WalstreamError {
  override name = 'ParseError';
  constructor(
    message: string,
    readonly tag: string | undefined,
    readonly lsn: string | undefined,
    readonly offset: number,
  ) {
    super(`${message} (tag ${tag === undefined ? '?' : JSON.stringify(tag)}, lsn ${lsn ?? '?'}, offset ${offset})`);
  }
}

/**
 * A temporary slot disappeared with the connection that owned it. Creating it again would start
 * at the server's current position and skip every change after `lastAcknowledged`; this error
 * says so instead. Use a permanent slot where a stream must survive reconnection.
 */
export class SlotLostError extends WalstreamError {
  override name = 'SlotLostError';
  constructor(
    readonly slot: string,
    readonly lastAcknowledged: { toString(): string },
  ) {
    super(`temporary replication slot "${slot}" was lost with its connection; changes after ${lastAcknowledged.toString()} cannot be recovered`);
  }
}

/**
 * An option the connected server or the chosen pgoutput protocol version cannot take, caught
 * before the command is sent. `option` names it as the user wrote it; `requiredServerVersion`
 * is the `server_version_num` it needs (e.g. 160000), `requiredProtoVersion` the protocol version.
 */
export class UnsupportedOptionError extends ConfigurationError {
  override name = 'UnsupportedOptionError';
  constructor(
    readonly option: string,
    readonly requirement: { serverVersion?: number; protoVersion?: number },
    context: string,
  ) {
    super(`${option} needs ${[requirement.serverVersion && `PostgreSQL ${Math.floor(requirement.serverVersion / 10000)}+`, requirement.protoVersion && `proto_version ${requirement.protoVersion}+`].filter(Boolean).join(' and ')} (${context})`);
  }

  /** The `server_version_num` the option needs, if the server is the obstacle. */
  get requiredServerVersion(): number | undefined {
    return this.requirement.serverVersion;
  }

  /** The pgoutput protocol version the option needs, if the protocol is the obstacle. */
  get requiredProtoVersion(): number | undefined {
    return this.requirement.protoVersion;
  }
}

/**
 * The TLS handshake failed: the server certificate did not verify (wrong CA, wrong host name,
 * revoked), no common protocol version, or a wrong ALPN answer. `code` is Node's (e.g.
 * `ERR_TLS_CERT_ALTNAME_INVALID`, `SELF_SIGNED_CERT_IN_CHAIN`, `CERT_REVOKED`). With
 * `sslmode=prefer` the connection is retried in plain text, as libpq does.
 */
export class TlsHandshakeError extends ConnectionError {
  override name = 'TlsHandshakeError';
}

/**
 * What a source reports for an exception that is not a {@link WalstreamError}: a system error of
 * the socket (it carries `syscall`, e.g. `EPIPE` from `write`) becomes a {@link ConnectionError},
 * which is retryable; anything else (a `TypeError` from a bug, say) passes on unchanged, so
 * `retryWithBackoff` does not retry it forever. Internal: shared by the replication sources.
 */
export function streamFailure(err: unknown): unknown {
  if (err instanceof WalstreamError) return err;
  const sys = err as NodeJS.ErrnoException | undefined;
  if (sys instanceof Error && typeof sys.syscall === 'string') return new ConnectionError(sys.message, { cause: sys });
  return err;
}

/**
 * A base backup named a file that would land outside its target directory: an archive name with a
 * path separator or a leading dot, or a tar entry with `..`, an absolute name, a path through a
 * link the archive itself created, or a hard link. Nothing is written for that entry, and the
 * backup fails. `archiveName` is the archive, `entryName` the tar member (undefined for the
 * archive name itself).
 */
export class UnsafeBackupPathError extends ProtocolError {
  override name = 'UnsafeBackupPathError';
  constructor(
    message: string,
    readonly archiveName: string,
    readonly entryName?: string,
  ) {
    super(message);
  }
}
