import type { Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { serialize } from 'pg-protocol';
import { AuthenticationError, ConnectionError, PgError, ProtocolError, TlsHandshakeError, WalstreamError } from '../errors';
import { AuthPolicy } from './auth-policy';
import { tlsServerEndPoint, tlsServerEndPointHash } from './channel-binding';
import { type ResolvedConfig, configForHost, passwordOf } from './config';
import { connectToAny, shuffled } from './multi-host';
import { type BackendMessage, type ErrorFields, parseBackendMessage } from './backend-messages';
import { MessageFramer } from './framer';
import { passwordFromFile } from './pgpass';
import { ReadCoalescer } from './read-coalescer';
import { ScramSession, md5Password } from './scram';
import { type Encryption, describeTarget, encryptionPlan, openTransport } from './tls';

/** One result set of a simple query: column names and text values (null for SQL NULL). */
export interface QueryResult {
  command: string;
  fields: string[];
  rows: (string | null)[][];
}

/** Receives a COPY stream (CopyBoth for START_REPLICATION, CopyOut for BASE_BACKUP). */
export interface CopyHandler {
  /** One CopyData body, `buf[start, end)`. The bytes stay valid after later messages arrive. */
  onData(buf: Buffer, start: number, end: number): void;
  /** Bytes arrived from the server during the copy (once per socket read, before its messages). */
  onRead?(): void;
  /** The server sent CopyDone. */
  onServerCopyDone?(): void;
  /** A result set or CopyOut that follows in the same command (timeline switch, BASE_BACKUP headers). */
  onResult?(result: QueryResult): void;
  /** A CommandComplete in the command, with its tag (a walsender at shutdown ends the stream with `COPY 0`). */
  onCommandComplete?(tag: string): void;
  /** A further CopyOutResponse in the same command (PostgreSQL 14's BASE_BACKUP, one per tablespace). */
  onCopyStart?(): void;
  /** The command finished (ReadyForQuery); `results` holds result sets received after the copy. */
  onComplete(): void;
  /** The command or the connection failed; no other callback follows. */
  onError(err: WalstreamError): void;
}

/** Startup `replication` parameter: `database` for logical walsenders, `true` for physical ones. */
export type ReplicationMode = 'database' | 'true';

interface PendingQuery {
  kind: 'query';
  /** Sent when the server answers with CopyInResponse (UPLOAD_MANIFEST). */
  copyInData?: Buffer;
  results: QueryResult[];
  current?: QueryResult;
  error?: PgError;
  resolve(results: QueryResult[]): void;
  reject(err: WalstreamError): void;
}

interface PendingCopy {
  kind: 'copy';
  handler: CopyHandler;
  started: boolean;
  current?: QueryResult;
  error?: PgError;
  resolveStart(): void;
  rejectStart(err: WalstreamError): void;
}

type Pending = PendingQuery | PendingCopy;

const CODE_COPY_DATA = 0x64;
const CODE_AUTHENTICATION = 0x52;
/** Authentication requests pg-protocol cannot parse and we do not support (codes from the protocol's "Message Formats"). */
const UNSUPPORTED_AUTH: Record<number, string> = { 2: 'kerberos v5', 6: 'scm credential', 7: 'gss', 9: 'sspi' };

/**
 * A PostgreSQL frontend/backend connection ("Message Flow" in the protocol docs) for replication
 * commands: startup and authentication, simple queries, and COPY streams. pg-protocol serializes
 * every frontend message and parses every backend message except CopyData, which is framed here and
 * handed on as `(chunk, start, end)`, so the hot path allocates nothing per message.
 *
 * Internal: users reach it through `ReplicationClient` and the replication sources.
 */
export class PgConnection {
  /** ParameterStatus values reported by the server (`server_version`, `integer_datetimes`, ...). */
  readonly parameters = new Map<string, string>();
  private readonly framer: MessageFramer;
  private readonly queue: Pending[] = [];
  private copy: PendingCopy | undefined;
  private closed = false;
  private closeError: WalstreamError | undefined;
  private readonly closeWaiters: (() => void)[] = [];
  private authenticationUsed = 'none';
  private startupChain: Promise<void> = Promise.resolve();
  private startup?: { resolve(): void; reject(err: WalstreamError): void; policy: AuthPolicy; scram?: ScramSession };
  private paused = false;
  /** Ref'd while paused: a socket that stops reading keeps no event loop alive (see ReadCoalescer). */
  private pauseHold: NodeJS.Timeout | undefined;
  private readonly coalescer: ReadCoalescer;

  private constructor(
    private readonly socket: Socket,
    private readonly config: ResolvedConfig,
    /** The TLS socket when the connection is encrypted (the same object as `socket`). */
    private readonly tls: TLSSocket | undefined,
    private readonly replication: ReplicationMode | undefined,
  ) {
    this.framer = new MessageFramer((code, buf, start, end) => this.onMessage(code, buf, start, end));
    this.coalescer = new ReadCoalescer(socket, () => this.paused);
    socket.on('data', (chunk: Buffer) => {
      const copy = this.copy;
      if (copy !== undefined) {
        this.coalescer.onRead(chunk.length);
        copy.handler.onRead?.();
      }
      try {
        this.framer.push(chunk);
      } catch (err) {
        this.fail(err instanceof WalstreamError ? err : new ProtocolError(String(err)));
      }
    });
    socket.on('error', (err) => this.fail(new ConnectionError(`connection to ${describeTarget(config)} failed: ${err.message}`, { cause: err })));
    socket.on('close', () => this.releasePauseHold());
    socket.on('close', () => this.fail(new ConnectionError(`connection to ${describeTarget(config)} closed`, { code: 'ECONNRESET' })));
    // TCP keepalive (libpq's keepalives, keepalives_idle): the kernel finds a peer host that is gone.
    socket.setKeepAlive(config.keepalive.enabled, config.keepalive.idle * 1000);
    socket.resume(); // negotiation may have paused it
  }

  /**
   * Opens a connection, negotiates TLS as `config.ssl` says (libpq's sslmode, sslnegotiation and
   * certificate checks, see src/wire/tls.ts) and authenticates (trust, cleartext password, MD5,
   * SCRAM-SHA-256, SCRAM-SHA-256-PLUS with tls-server-end-point channel binding, TLS client
   * certificates), refusing what `require_auth` and `channel_binding` forbid. Without a configured
   * password, the password file is consulted. `sslmode=prefer` retries in plain text after a failed
   * TLS handshake and `allow` retries with TLS after a pg_hba.conf refusal (28000); no other
   * failure is retried, so a wrong password costs one attempt. With several hosts (`host=a,b`),
   * each is tried in turn (in random order with `load_balance_hosts=random`) until one connects
   * and has the `target_session_attrs` asked for, as libpq does (see `connectToAny`).
   * @throws {PgError} for a server refusal such as a wrong password (SQLSTATE 28P01) or a missing database (3D000).
   * @throws {ConnectionError} when the socket cannot be opened, TLS is required and refused, the TLS handshake or certificate check fails ({@link TlsHandshakeError}), or on timeout.
   * @throws {AuthenticationError} for an unsupported or forbidden method, or a failed SCRAM verification.
   * @throws {ConfigurationError} when a certificate, key or CRL file cannot be used.
   */
  static async connect(config: ResolvedConfig, replication?: ReplicationMode): Promise<PgConnection> {
    const hosts = config.loadBalanceHosts === 'random' ? shuffled(config.hosts) : config.hosts;
    return connectToAny(hosts, config.targetSessionAttrs, (target) => PgConnection.connectHost(configForHost(config, target), replication), (target) => describeTarget(configForHost(config, target)));
  }

  /** One host of the list: the sslmode's attempts in turn (see {@link PgConnection.connect}). */
  private static async connectHost(config: ResolvedConfig, replication?: ReplicationMode): Promise<PgConnection> {
    const plan = encryptionPlan(config);
    for (let i = 0; ; i++) {
      try {
        return await PgConnection.attempt(config, replication, plan[i]);
      } catch (err) {
        const retry = i + 1 < plan.length && (plan[i] === 'plain' ? err instanceof PgError && err.code === '28000' : err instanceof TlsHandshakeError);
        if (!retry) throw err;
      }
    }
  }

  private static async attempt(config: ResolvedConfig, replication: ReplicationMode | undefined, encryption: Encryption): Promise<PgConnection> {
    const timeout = new AbortController();
    let conn: PgConnection | undefined;
    let timer: NodeJS.Timeout | undefined;
    if (config.connectTimeout > 0) {
      timer = setTimeout(() => {
        const err = new ConnectionError(`timeout after ${config.connectTimeout} ms connecting to ${describeTarget(config)}`, { code: 'ETIMEDOUT' });
        if (conn !== undefined) conn.fail(err);
        else timeout.abort(err);
      }, config.connectTimeout);
    }
    try {
      const transport = await openTransport(config, encryption, timeout.signal);
      conn = new PgConnection(transport.socket, config, transport.tls, replication);
      const ready = new Promise<void>((resolve, reject) => {
        conn!.startup = { resolve, reject, policy: new AuthPolicy(config.requireAuth, config.channelBinding, config.allowCleartextPassword) };
      });
      const params: Record<string, string> = {
        user: config.user,
        database: config.database,
        application_name: config.applicationName,
        client_encoding: 'UTF8',
        DateStyle: 'ISO',
      };
      if (replication !== undefined) params.replication = replication;
      if (config.options !== undefined) params.options = config.options;
      transport.socket.write(serialize.startup(params));
      try {
        await ready;
      } catch (err) {
        transport.socket.destroy();
        throw err;
      }
      return conn;
    } finally {
      clearTimeout(timer);
    }
  }

  /** Whether the connection is encrypted with TLS. */
  get encrypted(): boolean {
    return this.tls !== undefined;
  }

  /** How the server authenticated the client: `none` (trust, or a TLS client certificate alone), `password`, `md5`, `SCRAM-SHA-256` or `SCRAM-SHA-256-PLUS`. */
  get authentication(): string {
    return this.authenticationUsed;
  }

  /** The server's version as `server_version_num` would give it, e.g. 180004 or 150018. */
  get serverVersionNum(): number {
    const v = this.parameters.get('server_version') ?? '';
    const m = /^(\d+)(?:\.(\d+))?/.exec(v);
    if (m === null) return 0;
    const major = Number(m[1]);
    return major >= 10 ? major * 10000 + Number(m[2] ?? 0) : major * 10000 + Number(m[2] ?? 0) * 100;
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /**
   * Runs a simple query and collects every result set as text.
   * @throws {PgError} when the server answers with an ErrorResponse.
   * @throws {ConnectionError} when the connection breaks first.
   */
  query(sql: string): Promise<QueryResult[]> {
    return new Promise<QueryResult[]>((resolve, reject) => {
      if (this.closed) return reject(this.closeError ?? new ConnectionError('connection is closed'));
      this.queue.push({ kind: 'query', results: [], resolve, reject });
      this.socket.write(serialize.query(sql));
    });
  }

  /**
   * Sends a command that answers with CopyBoth or CopyOut (START_REPLICATION, BASE_BACKUP) and
   * resolves once the copy has started. Later data and errors go to `handler`.
   * @throws {PgError} when the server refuses the command (e.g. SQLSTATE 42704 for a missing slot).
   */
  startCopy(sql: string, handler: CopyHandler): Promise<void> {
    return new Promise<void>((resolveStart, rejectStart) => {
      if (this.closed) return rejectStart(this.closeError ?? new ConnectionError('connection is closed'));
      this.queue.push({ kind: 'copy', handler, started: false, resolveStart, rejectStart });
      this.socket.write(serialize.query(sql));
    });
  }

  /**
   * Runs a command that answers with CopyInResponse (UPLOAD_MANIFEST), sends `data` as CopyData
   * followed by CopyDone, and resolves with the command's result sets.
   * @throws {PgError} when the server refuses the command or the data.
   */
  copyIn(sql: string, data: Buffer): Promise<QueryResult[]> {
    return new Promise<QueryResult[]>((resolve, reject) => {
      if (this.closed) return reject(this.closeError ?? new ConnectionError('connection is closed'));
      this.queue.push({ kind: 'query', copyInData: data, results: [], resolve, reject });
      this.socket.write(serialize.query(sql));
    });
  }

  /** Sends CopyData; used for standby status updates and hot standby feedback. */
  sendCopyData(payload: Buffer): void {
    if (!this.closed) this.socket.write(serialize.copyData(payload));
  }

  /** Ends our side of a CopyBoth stream; the server answers with CopyDone, CommandComplete and ReadyForQuery. */
  sendCopyDone(): void {
    if (!this.closed) this.socket.write(serialize.copyDone());
  }

  /** Stops reading from the socket, so TCP and the server hold the backlog (flow control). */
  pause(): void {
    this.paused = true;
    this.socket.pause();
    // The process must not exit under a paused stream: the consumer is still working.
    this.pauseHold ??= setInterval(() => {}, 1 << 30);
  }

  resume(): void {
    this.paused = false;
    this.releasePauseHold();
    if (!this.coalescer.holding) this.socket.resume();
  }

  private releasePauseHold(): void {
    if (this.pauseHold !== undefined) clearInterval(this.pauseHold);
    this.pauseHold = undefined;
  }

  /** Sends Terminate and closes the socket; resolves once it is closed. */
  async end(): Promise<void> {
    if (this.closed) return;
    const closed = new Promise<void>((resolve) => this.closeWaiters.push(resolve));
    this.socket.end(serialize.end());
    const timer = setTimeout(() => this.socket.destroy(), 2000);
    await closed;
    clearTimeout(timer);
  }

  /** Closes the socket at once. */
  destroy(): void {
    this.socket.destroy();
  }

  /** Resolves when the socket has closed, whoever closed it. */
  whenClosed(): Promise<void> {
    return this.closed ? Promise.resolve() : new Promise<void>((resolve) => this.closeWaiters.push(resolve));
  }

  private onMessage(code: number, buf: Buffer, start: number, end: number): void {
    const copy = this.copy;
    if (code === CODE_COPY_DATA && copy !== undefined && copy.error === undefined) {
      copy.handler.onData(buf, start, end);
      return;
    }
    if (code === CODE_AUTHENTICATION && this.startup !== undefined && end - start >= 4) {
      const method = UNSUPPORTED_AUTH[buf.readInt32BE(start)];
      if (method !== undefined) {
        const startup = this.startup;
        try {
          if (method === 'gss' || method === 'sspi') startup.policy.allow(method);
          throw new AuthenticationError(`the server asks for ${method.toUpperCase()} authentication, which pg-walstream does not support`);
        } catch (err) {
          return this.fail(toWalstreamError(err));
        }
      }
    }
    let msg: BackendMessage;
    try {
      msg = parseBackendMessage(code, buf, start, end);
    } catch (err) {
      return this.fail(toWalstreamError(err));
    }
    this.onBackendMessage(msg);
  }

  private onBackendMessage(msg: BackendMessage): void {
    if (this.startup !== undefined) {
      // One at a time: a check that fails on AuthenticationOk must win over the ReadyForQuery in the same chunk.
      this.startupChain = this.startupChain
        .then(() => {
          if (this.closed) return;
          if (this.startup === undefined) return this.onBackendMessage(msg);
          return this.onStartupMessage(msg);
        })
        .catch((err: unknown) => this.fail(toWalstreamError(err)));
      return;
    }
    const op = this.queue[0];
    switch (msg.name) {
      case 'parameterStatus': {
        const m = msg as { parameterName: string; parameterValue: string };
        this.parameters.set(m.parameterName, m.parameterValue);
        return;
      }
      case 'notice':
      case 'notification':
        return;
      case 'error': {
        const err = toPgError((msg as { fields: ErrorFields }).fields);
        if (op === undefined) return this.fail(err);
        op.error ??= err;
        if (op.kind === 'copy') {
          this.copy = undefined;
          if (op.started) op.handler.onError(err);
          else op.rejectStart(err);
        }
        if (err.severity === 'FATAL' || err.severity === 'PANIC') this.closeError = err;
        return;
      }
      case 'readyForQuery':
        return this.completeOp();
      default:
        break;
    }
    if (op === undefined) return this.fail(new ProtocolError(`unexpected ${msg.name} message outside any command`));
    if (op.error !== undefined) return;
    switch (msg.name) {
      case 'rowDescription':
        op.current = { command: '', fields: (msg as { fields: string[] }).fields, rows: [] };
        return;
      case 'dataRow':
        op.current?.rows.push((msg as { fields: (string | null)[] }).fields);
        return;
      case 'commandComplete': {
        const result = op.current ?? { command: '', fields: [], rows: [] };
        result.command = (msg as { text: string }).text;
        op.current = undefined;
        if (op.kind === 'query') op.results.push(result);
        else {
          op.handler.onCommandComplete?.(result.command);
          if (result.fields.length > 0) op.handler.onResult?.(result);
        }
        return;
      }
      case 'emptyQuery':
        return;
      case 'copyInResponse':
        if (op.kind !== 'query' || op.copyInData === undefined) return this.fail(new ProtocolError('unexpected CopyInResponse'));
        for (let i = 0; i < op.copyInData.length; i += 65536) this.socket.write(serialize.copyData(op.copyInData.subarray(i, i + 65536)));
        this.socket.write(serialize.copyDone());
        return;
      case 'copyBothResponse':
      case 'copyOutResponse':
        if (op.kind !== 'copy') return this.fail(new ProtocolError(`unexpected ${msg.name} for a simple query`));
        this.copy = op;
        if (!op.started) {
          op.started = true;
          op.resolveStart();
        } else {
          op.handler.onCopyStart?.();
        }
        return;
      case 'copyDone':
        if (op.kind === 'copy') op.handler.onServerCopyDone?.();
        this.copy = undefined;
        return;
      case 'copyData':
        return; // a CopyData after an error; the command is already failed
      default:
        return this.fail(new ProtocolError(`unexpected backend message ${msg.name}`));
    }
  }

  private completeOp(): void {
    const op = this.queue.shift();
    if (op === undefined) return;
    if (op.kind === 'query') {
      if (op.error !== undefined) op.reject(op.error);
      else op.resolve(op.results);
      return;
    }
    this.copy = undefined;
    this.coalescer.release();
    if (!op.started) op.rejectStart(op.error ?? new ProtocolError('the server did not start a COPY stream'));
    else if (op.error === undefined) op.handler.onComplete();
  }

  private async onStartupMessage(msg: BackendMessage): Promise<void> {
    const startup = this.startup!;
    switch (msg.name) {
      case 'authenticationCleartextPassword':
        startup.policy.allow('password');
        startup.policy.allowCleartext(this.tls !== undefined ? 'tls' : this.config.host.startsWith('/') ? 'unix' : 'tcp');
        this.socket.write(serialize.password(await this.requirePassword()));
        this.authenticationUsed = 'password';
        startup.policy.markFinished();
        return;
      case 'authenticationMD5Password': {
        startup.policy.allow('md5');
        const salt = (msg as { salt: Buffer }).salt;
        this.socket.write(serialize.password(md5Password(this.config.user, await this.requirePassword(), salt)));
        this.authenticationUsed = 'md5';
        startup.policy.markFinished();
        return;
      }
      case 'authenticationSASL': {
        startup.policy.allow('scram-sha-256');
        startup.scram = await this.scramSession((msg as { mechanisms: string[] }).mechanisms);
        this.socket.write(serialize.sendSASLInitialResponseMessage(startup.scram.mechanism, startup.scram.clientFirstMessage()));
        return;
      }
      case 'authenticationSASLContinue': {
        if (startup.scram === undefined) throw new ProtocolError('SASLContinue before SASL');
        const data = (msg as { data: string }).data;
        this.socket.write(serialize.sendSCRAMClientFinalMessage(await startup.scram.clientFinalMessage(data)));
        return;
      }
      case 'authenticationSASLFinal':
        if (startup.scram === undefined) throw new ProtocolError('SASLFinal before SASL');
        startup.scram.verifyServerFinal((msg as { data: string }).data);
        this.authenticationUsed = startup.scram.mechanism;
        startup.policy.markFinished();
        return;
      case 'authenticationOk':
        // A server that skips SASLFinal has not proven it knows the password.
        if (startup.scram !== undefined && !startup.scram.finished) throw new AuthenticationError('SCRAM: the server accepted the client before proving it knows the password');
        startup.policy.onAuthenticationOk(startup.scram?.channelBound ?? false);
        return;
      case 'backendKeyData':
      case 'notice':
        return;
      case 'parameterStatus': {
        const m = msg as { parameterName: string; parameterValue: string };
        this.parameters.set(m.parameterName, m.parameterValue);
        return;
      }
      case 'readyForQuery':
        this.startup = undefined;
        startup.resolve();
        return;
      case 'error':
        throw toPgError((msg as { fields: ErrorFields }).fields);
      default:
        throw new ProtocolError(`unexpected ${msg.name} during startup`);
    }
  }

  /**
   * Picks the SASL mechanism as libpq does (`pg_SASL_init` in `fe-auth.c`): SCRAM-SHA-256-PLUS with
   * tls-server-end-point over TLS unless channel_binding=disable; else SCRAM-SHA-256 with the GS2
   * flag `y` over TLS (the client could bind, the server did not offer it) or `n` without TLS.
   */
  private async scramSession(mechanisms: string[]): Promise<ScramSession> {
    const binding = this.config.channelBinding;
    let plus = false;
    if (mechanisms.includes('SCRAM-SHA-256-PLUS')) {
      if (this.tls === undefined) throw new AuthenticationError('server offered SCRAM-SHA-256-PLUS authentication over a non-SSL connection');
      plus = binding !== 'disable';
    }
    if (binding === 'require' && !plus) {
      throw new AuthenticationError(
        this.tls === undefined
          ? 'channel binding is required, but the connection is not encrypted (SCRAM-SHA-256-PLUS needs TLS)'
          : 'channel binding is required, but server did not offer an authentication method that supports channel binding',
      );
    }
    if (!plus && !mechanisms.includes('SCRAM-SHA-256')) {
      throw new AuthenticationError(`none of the server's SASL authentication mechanisms are supported: ${mechanisms.join(', ')}`);
    }
    let bindingData: Buffer | undefined;
    if (plus) {
      const cert = this.tls!.getPeerCertificate(false);
      if (cert === null || cert.raw === undefined) throw new AuthenticationError('channel binding: the server sent no certificate');
      // Ed25519/Ed448 certificates have no tls-server-end-point hash and the server cannot bind
      // them: `prefer` goes on unbound (GS2 flag n, which the server accepts), `require` fails.
      if (binding === 'prefer' && tlsServerEndPointHash(cert.raw) === undefined) plus = false;
      else bindingData = tlsServerEndPoint(cert.raw);
      if (!plus && !mechanisms.includes('SCRAM-SHA-256')) throw new AuthenticationError(`channel binding: the server certificate's signature algorithm has no tls-server-end-point hash, and the server offers only ${mechanisms.join(', ')}`);
    }
    const password = await this.requirePassword();
    if (plus) return new ScramSession(password, this.config.maxScramIterations, 'p=tls-server-end-point,,', bindingData);
    const canBind = this.tls !== undefined && binding !== 'disable' && !mechanisms.includes('SCRAM-SHA-256-PLUS');
    return new ScramSession(password, this.config.maxScramIterations, canBind ? 'y,,' : 'n,,');
  }

  /** The configured password, else the password file's entry (`database` is `replication` for a physical connection, as pg_receivewal looks it up). */
  private async requirePassword(): Promise<string> {
    let password: string | undefined;
    try {
      password = await passwordOf(this.config);
    } catch (err) {
      throw new AuthenticationError(`the password function failed: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
    }
    if (password === undefined || password === '') {
      const c = this.config;
      password = await passwordFromFile(c.passfile, { host: c.host, port: c.port, database: this.replication === 'true' ? 'replication' : c.database, user: c.user });
    }
    // Like libpq, an empty password counts as none.
    if (password === undefined || password === '') throw new AuthenticationError(`the server asks for a password for user "${this.config.user}" and none was given`);
    return password;
  }

  /** Fails everything pending with `err` (or the FATAL error that preceded the close) and closes the socket. */
  private fail(err: WalstreamError): void {
    const first = !this.closed;
    if (first) {
      this.closed = true;
      this.closeError ??= err;
    }
    const reason = this.closeError ?? err;
    if (this.startup !== undefined) {
      const s = this.startup;
      this.startup = undefined;
      s.reject(reason);
    }
    this.copy = undefined;
    for (const op of this.queue.splice(0)) {
      if (op.kind === 'query') op.reject(op.error ?? reason);
      else if (!op.started) op.rejectStart(op.error ?? reason);
      else if (op.error === undefined) op.handler.onError(reason);
    }
    if (first) this.socket.destroy();
    if (this.socket.destroyed || this.socket.closed) {
      for (const w of this.closeWaiters.splice(0)) w();
    } else {
      this.socket.once('close', () => {
        for (const w of this.closeWaiters.splice(0)) w();
      });
    }
  }
}

/** An ErrorResponse as a PgError: `V` is the severity never translated (PostgreSQL 9.6+), `S` the localized one. */
function toPgError(f: ErrorFields): PgError {
  return new PgError({
    severity: f.V ?? f.S,
    code: f.C ?? 'XX000',
    message: f.M ?? 'unknown error',
    detail: f.D,
    hint: f.H,
    where: f.W,
    routine: f.R,
  });
}

function toWalstreamError(err: unknown): WalstreamError {
  if (err instanceof WalstreamError) return err;
  return new ProtocolError(err instanceof Error ? err.message : String(err));
}
