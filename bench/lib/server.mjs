// The benchmark's PostgreSQL 18 server and its workloads.
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const { startEmbeddedPostgres } = require('../../dist/cjs/src/embedded.js');
const { Client } = require('pg');

/**
 * Server settings. wal_level=logical is the point; the rest keep the workload writer fast and
 * keep checkpoints and autovacuum from adding noise to WAL that every client must decode anyway.
 */
export const SETTINGS = {
  wal_level: 'logical',
  max_wal_senders: '30',
  max_replication_slots: '30',
  synchronous_commit: 'off',
  fsync: 'off',
  full_page_writes: 'off',
  max_wal_size: '8GB',
  checkpoint_timeout: '1h',
  autovacuum: 'off',
  wal_sender_timeout: '120s',
  shared_buffers: '256MB',
};

export async function startServer() {
  return startEmbeddedPostgres({ settings: SETTINGS });
}

export async function sql(url) {
  const c = new Client({ connectionString: url });
  await c.connect();
  return c;
}

// Rows are generated server side (one DO block, one COMMIT per transaction) so that writing the
// workload is fast and identical for every client: they all read the same WAL afterwards.
const narrow = (table) => `CREATE TABLE ${table} (id bigserial PRIMARY KEY, n int NOT NULL, label text NOT NULL)`;
const insertNarrow = (table, rows) => `INSERT INTO ${table} (n, label) SELECT g, 'row-' || g FROM generate_series(1, ${rows}) g`;
const loop = (txs, body) => `DO $$ BEGIN FOR t IN 1..${txs} LOOP ${body}; COMMIT; END LOOP; END $$`;

const WIDE_COLUMNS = `
  id bigserial PRIMARY KEY, c_int2 int2, c_int4 int4, c_int8 int8, c_float4 float4, c_float8 float8,
  c_numeric numeric(18,6), c_bool bool, c_text text, c_varchar varchar(64), c_date date,
  c_timestamp timestamp, c_timestamptz timestamptz, c_time time, c_interval interval, c_uuid uuid,
  c_jsonb jsonb, c_bytea bytea, c_inet inet, c_int4_array int4[]`;
const WIDE_VALUES = `SELECT g::int2 % 1000, g, g * 1000003::int8, g / 3.0, g / 7.0, g * 1.000001, g % 2 = 0,
  'text value ' || g, 'v' || g, date '2024-01-01' + g % 365, timestamp '2024-01-01' + g * interval '1 s',
  timestamptz '2024-01-01 00:00:00+00' + g * interval '1 ms', time '00:00' + g * interval '1 s', g * interval '1 min',
  md5(g::text)::uuid, jsonb_build_object('id', g, 'tags', jsonb_build_array('a', 'b')), decode(md5(g::text), 'hex'),
  ('10.0.' || g % 256 || '.' || g % 200)::inet, ARRAY[g, g + 1, g + 2]`;

/**
 * The scenarios of issue 8. `txs × rows` inserts (mixed: insert, update, delete of each row).
 * `options` are pgoutput's START_REPLICATION options; `settings` are server settings applied
 * (ALTER SYSTEM + reload) before the clients stream, so walsenders started later use them.
 */
export const SCENARIOS = {
  baseline: {
    description: '500 transactions × 1,000 narrow rows',
    setup: [narrow('bench_narrow')],
    workload: [loop(500, insertNarrow('bench_narrow', 1000))],
    events: 500 * 1000,
    options: { protoVersion: 1 },
  },
  'single-row': {
    description: '100,000 one-row transactions (narrow)',
    setup: [narrow('bench_single')],
    workload: [loop(100_000, insertNarrow('bench_single', 1))],
    events: 100_000,
    options: { protoVersion: 1 },
  },
  wide: {
    description: '200 transactions × 1,000 rows of 20 mixed-type columns',
    setup: [`CREATE TABLE bench_wide (${WIDE_COLUMNS})`],
    workload: [loop(200, `INSERT INTO bench_wide (c_int2, c_int4, c_int8, c_float4, c_float8, c_numeric, c_bool, c_text, c_varchar, c_date, c_timestamp, c_timestamptz, c_time, c_interval, c_uuid, c_jsonb, c_bytea, c_inet, c_int4_array) ${WIDE_VALUES} FROM generate_series(1, 1000) g`)],
    events: 200 * 1000,
    options: { protoVersion: 1 },
  },
  'payload-2KB': {
    description: '100 transactions × 1,000 rows with a 2 KB text column (incompressible)',
    setup: ['CREATE TABLE bench_payload (id bigserial PRIMARY KEY, payload text NOT NULL)'],
    // 64 different md5 digests per row: 2,048 characters that pglz cannot shrink, so the WAL carries them whole.
    workload: [loop(100, `INSERT INTO bench_payload (payload) SELECT (SELECT string_agg(md5(g::text || ':' || j || ':' || t), '') FROM generate_series(1, 64) j) FROM generate_series(1, 1000) g`)],
    events: 100 * 1000,
    options: { protoVersion: 1 },
  },
  'mixed-dml': {
    description: '200 transactions × (500 inserts, 500 updates, 500 deletes) under REPLICA IDENTITY FULL',
    setup: [narrow('bench_mixed'), 'ALTER TABLE bench_mixed REPLICA IDENTITY FULL'],
    workload: [
      loop(
        200,
        `INSERT INTO bench_mixed (n, label) SELECT g, 'row-' || g FROM generate_series(1, 500) g; UPDATE bench_mixed SET n = n + 1, label = label || '!'; DELETE FROM bench_mixed`,
      ),
    ],
    events: 200 * 1500,
    options: { protoVersion: 1 },
  },
  'streaming-on': {
    description: '20 transactions × 25,000 narrow rows, streamed (logical_decoding_work_mem=64kB, streaming=on)',
    setup: [narrow('bench_stream_on')],
    workload: [loop(20, insertNarrow('bench_stream_on', 25_000))],
    events: 20 * 25_000,
    settings: { logical_decoding_work_mem: '64kB' },
    options: { protoVersion: 2, streaming: 'on' },
  },
  'streaming-parallel': {
    description: '20 transactions × 25,000 narrow rows, streamed (logical_decoding_work_mem=64kB, streaming=parallel)',
    setup: [narrow('bench_stream_par')],
    workload: [loop(20, insertNarrow('bench_stream_par', 25_000))],
    events: 20 * 25_000,
    settings: { logical_decoding_work_mem: '64kB' },
    options: { protoVersion: 4, streaming: 'parallel' },
  },
  binary: {
    description: '200 transactions × 1,000 rows of the 20 mixed-type columns, binary=true',
    setup: [`CREATE TABLE bench_binary (${WIDE_COLUMNS})`],
    workload: [loop(200, `INSERT INTO bench_binary (c_int2, c_int4, c_int8, c_float4, c_float8, c_numeric, c_bool, c_text, c_varchar, c_date, c_timestamp, c_timestamptz, c_time, c_interval, c_uuid, c_jsonb, c_bytea, c_inet, c_int4_array) ${WIDE_VALUES} FROM generate_series(1, 1000) g`)],
    events: 200 * 1000,
    options: { protoVersion: 1, binary: true },
  },
};

/** The table names a scenario's setup creates (for its publication). */
export function tablesOf(scenario) {
  return scenario.setup.map((s) => /CREATE TABLE (\w+)/.exec(s)?.[1]).filter(Boolean);
}
