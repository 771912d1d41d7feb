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
