// Servers and consumer processes for the sink tests: each test starts its own nats-server or
// redis-server on free 127.0.0.1 ports in a temp dir, and stops it.
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../../src/embedded';

/** The path of a Debian server binary, or undefined when it is not installed. */
export function serverBinary(name: string): string | undefined {
  return ['/usr/sbin', '/usr/bin', '/usr/local/bin'].map((d) => join(d, name)).find((p) => existsSync(p));
}

/**
 * `describe`, or a skip that names what is missing; under CI=true a missing server fails instead,
 * so the test never vanishes silently.
 */
export function describeWith(binary: string, title: string, body: (path: string) => void): void {
  const path = serverBinary(binary);
  if (path !== undefined) return describe(title, () => body(path));
  if (process.env.CI === 'true') {
    describe(title, () => it(`needs ${binary}`, () => fail(new Error(`${binary} is not installed (apt-get install ${binary})`))));
    return;
  }
  describe.skip(`${title} (skipped: ${binary} is not installed; apt-get install ${binary})`, () => it('skipped', () => undefined));
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A server process we started, restartable with the same arguments. */
export class ServerProcess {
  private child: ChildProcess | undefined;
  log = '';
  constructor(
    private readonly binary: string,
    private readonly args: string[],
  ) {}

  start(): void {
    this.child = spawn(this.binary, this.args, { stdio: ['ignore', 'pipe', 'pipe'] });
    this.child.stdout!.on('data', (d: Buffer) => (this.log += d.toString()));
    this.child.stderr!.on('data', (d: Buffer) => (this.log += d.toString()));
  }

  get pid(): number | undefined {
    return this.child?.exitCode === null ? this.child.pid : undefined;
  }

  /** SIGKILL, and waits for the exit. */
  async kill(): Promise<void> {
    const child = this.child;
    if (child === undefined || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGKILL');
    await exited;
  }

  async stop(): Promise<void> {
    const child = this.child;
    if (child === undefined || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(timer);
  }
}

export interface NatsCluster {
  readonly nodes: { name: string; port: number; server: ServerProcess }[];
  readonly urls: string[];
  stop(): Promise<void>;
}

/** Three JetStream nodes clustered on 127.0.0.1 with free client and cluster ports. */
export async function startNatsCluster(binary: string): Promise<NatsCluster> {
  const dir = mkdtempSync(join(tmpdir(), 'walstream-nats-'));
  const ports = await Promise.all([0, 1, 2].map(async () => ({ client: await freePort(), cluster: await freePort() })));
  const routes = ports.map((p) => `nats-route://127.0.0.1:${p.cluster}`).join(', ');
  const nodes = ports.map((p, i) => {
    const name = `n${i + 1}`;
    const conf = join(dir, `${name}.conf`);
    writeFileSync(
      conf,
      `server_name: ${name}\nlisten: 127.0.0.1:${p.client}\njetstream { store_dir: "${join(dir, name)}" }\n` +
        `cluster { name: walstream, listen: 127.0.0.1:${p.cluster}, routes: [${routes}] }\n`,
    );
    const server = new ServerProcess(binary, ['-c', conf]);
    server.start();
    return { name, port: p.client, server };
  });
  return {
    nodes,
    urls: ports.map((p) => `nats://127.0.0.1:${p.client}`),
    async stop() {
      await Promise.all(nodes.map((n) => n.server.stop()));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export interface RedisServer {
  readonly url: string;
  readonly server: ServerProcess;
  stop(): Promise<void>;
}

/** redis-server on a free port, AOF with fsync on every write (by default), so an answered XADD survives SIGKILL. */
export async function startRedis(binary: string, appendfsync: 'always' | 'everysec' = 'always'): Promise<RedisServer> {
  const dir = mkdtempSync(join(tmpdir(), 'walstream-redis-'));
  const port = await freePort();
  const server = new ServerProcess(binary, ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--appendonly', 'yes', '--appendfsync', appendfsync, '--save', '', '--protected-mode', 'no']);
  server.start();
  return {
    url: `redis://127.0.0.1:${port}`,
    server,
    async stop() {
      await server.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** The sink consumer (spec/support/sink-consumer.js), restarted whenever it exits until `stop()`. */
export class KeptConsumer {
  private child: ChildProcess | undefined;
  private stopped = false;
  starts = 0;
  stderr = '';
  lastAck = '';

  constructor(private readonly config: Record<string, unknown>) {
    this.spawn();
  }

  private spawn(): void {
    if (this.stopped) return;
    this.starts++;
    const child = spawn(process.execPath, [join(__dirname, 'sink-consumer.js'), JSON.stringify(this.config)], { stdio: ['ignore', 'pipe', 'pipe'] });
    this.child = child;
    child.stdout!.on('data', (d: Buffer) => {
      const lines = d.toString().trim().split('\n');
      this.lastAck = lines[lines.length - 1];
    });
    child.stderr!.on('data', (d: Buffer) => (this.stderr += d.toString()));
    child.once('exit', () => setTimeout(() => this.spawn(), 100));
  }

  /** SIGKILL the running consumer; another starts 100 ms later. */
  async kill(): Promise<void> {
    const child = this.child;
    if (child === undefined || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGKILL');
    await exited;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.kill();
  }
}

export { sleep };

/** The parts of a JetStream manager the stream readers below use (`@nats-io/jetstream`'s `jsm.streams`). */
interface StreamsApi {
  info(stream: string): Promise<{ state: { messages: number; first_seq: number; last_seq: number }; cluster?: { leader?: string; replicas?: { current: boolean }[] } }>;
  getMessage(stream: string, query: { seq: number }): Promise<{ seq: number; subject: string; data: Uint8Array; header: { get(k: string): string } } | null>;
}

/**
 * Stream info answered by the stream's leader. nats-server (2.9, `jsStreamInfoRequest`) lets a
 * member that sees no leader answer STREAM.INFO with its *own* state, which on a node restarted
 * after a kill is stale (it held 136 of 610 messages in one run of the JetStream test); such an
 * answer carries no `cluster.leader`, so it is asked again. STREAM.MSG.GET is only ever answered
 * by the leader (or with an error), never with stale data.
 */
export async function leaderStreamInfo(
  jsm: { streams: StreamsApi },
  stream: string,
  timeout = 20_000,
  onStale?: (info: Awaited<ReturnType<StreamsApi['info']>>) => void,
): ReturnType<StreamsApi['info']> {
  const until = Date.now() + timeout;
  for (;;) {
    try {
      const info = await jsm.streams.info(stream);
      if (info.cluster?.leader) return info;
      onStale?.(info);
    } catch (err) {
      if (Date.now() > until) throw err;
    }
    if (Date.now() > until) throw new Error(`no leader answered STREAM.INFO ${stream} within ${timeout} ms`);
    await sleep(100);
  }
}

/**
 * Every message of the stream, from the leader, in sequence order: first waits until the leader
 * reports every replica current, then reads sequence 1 to `last_seq` (STREAM.MSG.GET, which only
 * the leader answers), retrying errors of a leader change, and checks that the leader and
 * `last_seq` did not move meanwhile. A missing sequence fails: the sink's streams never delete.
 */
export async function readWholeStream(jsm: { streams: StreamsApi }, stream: string): Promise<{ seq: number; subject: string; data: Uint8Array; header: { get(k: string): string } }[]> {
  const until = Date.now() + 30_000;
  for (;;) {
    const before = await leaderStreamInfo(jsm, stream);
    if ((before.cluster?.replicas ?? []).length === 2 && before.cluster!.replicas!.every((r) => r.current)) {
      const out = [];
      for (let seq = 1; seq <= before.state.last_seq; seq++) {
        for (let attempt = 0; ; attempt++) {
          try {
            const m = await jsm.streams.getMessage(stream, { seq });
            if (m === null) throw new Error(`the stream ${stream} has no message ${seq} (of ${before.state.last_seq})`);
            out.push(m);
            break;
          } catch (err) {
            if (attempt >= 50 || (err as Error).message.startsWith('the stream')) throw err;
            await sleep(100);
          }
        }
      }
      const after = await leaderStreamInfo(jsm, stream);
      if (after.cluster!.leader === before.cluster!.leader && after.state.last_seq === before.state.last_seq) return out;
    }
    if (Date.now() > until) throw new Error(`the stream ${stream} did not settle (leader ${before.cluster?.leader}, replicas ${JSON.stringify(before.cluster?.replicas)})`);
    await sleep(200);
  }
}

export interface NatsServer {
  readonly url: string;
  readonly server: ServerProcess;
  stop(): Promise<void>;
}

/** One nats-server with JetStream (file storage in a temp dir) on a free 127.0.0.1 port. */
export async function startNatsServer(binary: string): Promise<NatsServer> {
  const dir = mkdtempSync(join(tmpdir(), 'walstream-nats-'));
  const port = await freePort();
  const server = new ServerProcess(binary, ['-js', '-a', '127.0.0.1', '-p', String(port), '-sd', dir]);
  server.start();
  return {
    url: `nats://127.0.0.1:${port}`,
    server,
    async stop() {
      await server.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
