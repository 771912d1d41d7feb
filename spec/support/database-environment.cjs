// Jest environment: every test file gets a database of its own on the run's servers.
// Logical decoding leaves out other databases' transactions, so one file's slots never see
// another file's work: PostgreSQL 14 sends every transaction of the slot's database, empty
// ones included, and idle confirmation follows the server's WAL end.
const { TestEnvironment } = require('jest-environment-node');
const { createHash } = require('node:crypto');
const { sep } = require('node:path');
const { Client } = require('pg');

const URL_VARIABLES = ['PG_TEST_URL', 'PG_TEST_URL_15'];

class DatabasePerFileEnvironment extends TestEnvironment {
  constructor(config, context) {
    super(config, context);
    this.testPath = context.testPath;
  }

  async setup() {
    await super.setup();
    // Unit suites touch no server.
    if (!this.testPath.includes(`${sep}integration${sep}`)) return;
    const env = this.global.process.env;
    const name = `walstream_${createHash('sha1').update(this.testPath).digest('hex').slice(0, 12)}`;
    for (const variable of URL_VARIABLES) {
      const url = env[variable];
      if (!url) continue;
      await createDatabase(url, name);
      const own = new URL(url);
      own.pathname = `/${name}`;
      env[`${variable}_ADMIN`] = url;
      env[variable] = own.toString();
    }
  }
}

async function createDatabase(url, name) {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    const exists = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
    if (exists.rowCount === 0) await client.query(`CREATE DATABASE ${name}`);
  } finally {
    await client.end();
  }
}

module.exports = DatabasePerFileEnvironment;
