import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Client } from 'pg';
import * as ts from 'typescript';
import { defaultServer, sqlClient, waitFor } from '../support/server';

const ROOT = join(__dirname, '..', '..');

/** The README's first TypeScript example, exactly as written. */
function firstExample(): string {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const section = readme.slice(readme.indexOf('## A first stream'));
  const match = /```ts\n([\s\S]*?)```/.exec(section);
  if (match === null) throw new Error('README.md has no ts example under "## A first stream"');
  return match[1]!;
}

// The README promises that its first example runs as written on a fresh database: it creates the
// table, the publication and the slot, then streams and acknowledges.
describe("README's first example", () => {
  const server = defaultServer(); // this file's own database: fresh, no orders table
  let sql: Client;
  let child: ChildProcess | undefined;
  const dir = join(ROOT, '.tmp', `readme-example-${process.pid}`);

  beforeAll(async () => {
    sql = await sqlClient(server.url);
  });
  afterAll(async () => {
    child?.kill('SIGKILL');
    await waitFor(async () => (await sql.query(`SELECT 1 FROM pg_replication_slots WHERE slot_name = 'app' AND active`)).rowCount === 0, 10_000, 'slot release');
    await sql.query(`SELECT pg_drop_replication_slot('app') FROM pg_replication_slots WHERE slot_name = 'app'`);
    await sql.end();
    rmSync(dir, { recursive: true, force: true });
  });

  it('creates the table, publication and slot, prints each insert and acknowledges it', async () => {
    expect((await sql.query(`SELECT 1 FROM pg_tables WHERE tablename = 'orders'`)).rowCount).toBe(0);
    // Inside the repository, 'pg-walstream' resolves to this package (package.json "exports", built dist/).
    const js = ts.transpileModule(firstExample(), { compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 } }).outputText;
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'first.mjs'), js);

    let stdout = '';
    let stderr = '';
    child = spawn(process.execPath, [join(dir, 'first.mjs')], { env: { ...process.env, DATABASE_URL: server.url }, stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<number | null>((resolve) => child!.on('exit', resolve));
    let exitCode: number | null | undefined;
    void exited.then((c) => (exitCode = c));

    await waitFor(async () => {
      if (exitCode !== undefined) throw new Error(`the example exited ${exitCode}: ${stderr}`);
      // A slot being created is listed as active while it waits for its consistent point, and rows
      // committed then never stream: confirmed_flush_lsn is set only once it is reached.
      return (await sql.query(`SELECT 1 FROM pg_replication_slots WHERE slot_name = 'app' AND active AND confirmed_flush_lsn IS NOT NULL`)).rowCount === 1;
    }, 30_000, 'the example streaming from slot app');
    await sql.query(`INSERT INTO orders (item) VALUES ('book')`);
    await waitFor(() => {
      if (exitCode !== undefined) throw new Error(`the example exited ${exitCode}: ${stderr}`);
      return stdout.includes("orders { id: 1, item: 'book' }");
    }, 30_000, `the insert printed (stdout ${JSON.stringify(stdout)}, stderr ${JSON.stringify(stderr)})`);
    // Acknowledged: the slot's confirmed_flush_lsn passes the insert's commit.
    const { rows } = await sql.query(`SELECT pg_current_wal_lsn()::text AS l`);
    await waitFor(
      async () => (await sql.query(`SELECT confirmed_flush_lsn >= $1::pg_lsn AS ok FROM pg_replication_slots WHERE slot_name = 'app'`, [rows[0].l])).rows[0]?.ok === true,
      30_000,
      'confirmed_flush_lsn past the insert',
    );
    child.kill('SIGTERM');
    await exited;
  });
});
