import type { Client } from 'pg';
import { sqlClient, uniqueName } from './server';

/** Tables, publication and type of one protocol workload; drop them with `drop()`. */
export interface Workload {
  publication: string;
  /** Message prefix of this workload's logical decoding messages. */
  prefix: string;
  /** Global transaction ids of the prepared transactions. */
  gids: string[];
  /** Runs the workload; resolves once everything is committed, rolled back or prepared-and-finished. */
  run(): Promise<void>;
  drop(): Promise<void>;
}

/** Rows enough to exceed logical_decoding_work_mem = 64kB and stream. */
const BIG = 600;

/**
 * A workload that makes pgoutput send every message it has on the server's version:
 * - insert, update (without old values, with a changed key, with REPLICA IDENTITY FULL, with an
 *   unchanged TOASTed column), delete (key and full), truncate with CASCADE and RESTART IDENTITY;
 * - an enum column (Type message) and types with binary send/receive;
 * - transactional and non-transactional logical decoding messages;
 * - a transaction with a replication origin (Origin message);
 * - transactions large enough to stream: one committed that contains a rolled-back
 *   subtransaction, one rolled back, and two that interleave (needs two sessions);
 * - PREPARE TRANSACTION followed by COMMIT PREPARED and ROLLBACK PREPARED, small and large.
 * Needs `logical_decoding_work_mem = 64kB` and `max_prepared_transactions > 0`.
 */
export async function protocolWorkload(sql: Client, url: string): Promise<Workload> {
  const id = uniqueName('w');
  const t = `${id}_t`; // primary key, enum, TOAST
  const full = `${id}_full`; // REPLICA IDENTITY FULL
  const big = `${id}_big`;
  const parent = `${id}_parent`;
  const child = `${id}_child`;
  const mood = `${id}_mood`;
  const publication = `${id}_pub`;
  const origin = `${id}_origin`;
  const prefix = `${id}_msg`;
  const gids = [`${id}_g1`, `${id}_g2`, `${id}_g3`];

  await sql.query(`CREATE TYPE ${mood} AS ENUM ('sad', 'ok', 'happy')`);
  await sql.query(`CREATE TABLE ${t} (id int PRIMARY KEY, name text, m ${mood}, n numeric, ts timestamptz, b bytea, j jsonb, a int[], doc text)`);
  await sql.query(`CREATE TABLE ${full} (id int, v text)`);
  await sql.query(`ALTER TABLE ${full} REPLICA IDENTITY FULL`);
  await sql.query(`CREATE TABLE ${big} (id serial PRIMARY KEY, v text)`);
  await sql.query(`CREATE TABLE ${parent} (id int PRIMARY KEY)`);
  await sql.query(`CREATE TABLE ${child} (id serial PRIMARY KEY, p int REFERENCES ${parent})`);
  await sql.query(`CREATE PUBLICATION ${publication} FOR TABLE ${t}, ${full}, ${big}, ${parent}, ${child}`);

  const bigInsert = (n = BIG) => `INSERT INTO ${big} (v) SELECT repeat('x', 100) FROM generate_series(1, ${n}) g`;

  const run = async () => {
    await sql.query(
      `INSERT INTO ${t} VALUES (1, 'one', 'ok', 1.5, '2024-01-02 03:04:05+00', '\\x00ff', '{"a": [1, 2]}', '{1,2,3}',
        (SELECT string_agg(md5(g::text), '') FROM generate_series(1, 200) g)), (2, 'two', 'sad', NULL, NULL, NULL, NULL, NULL, NULL)`,
    );
    await sql.query(`UPDATE ${t} SET name = 'uno' WHERE id = 1`); // doc is unchanged TOAST
    await sql.query(`UPDATE ${t} SET id = 3 WHERE id = 2`); // key changed: old key sent
    await sql.query(`DELETE FROM ${t} WHERE id = 3`);
    await sql.query(`INSERT INTO ${full} VALUES (1, 'a'), (2, 'b')`);
    await sql.query(`UPDATE ${full} SET v = 'c' WHERE id = 1`);
    await sql.query(`DELETE FROM ${full} WHERE id = 2`);
    await sql.query(`INSERT INTO ${parent} VALUES (1)`);
    await sql.query(`INSERT INTO ${child} (p) VALUES (1)`);
    await sql.query(`TRUNCATE ${parent} RESTART IDENTITY CASCADE`);
    await sql.query(`TRUNCATE ${full}`);
    await sql.query(`SELECT pg_logical_emit_message(false, '${prefix}', 'not transactional')`);
    await sql.query('BEGIN');
    await sql.query(`SELECT pg_logical_emit_message(true, '${prefix}', '\\x00ff'::bytea)`);
    await sql.query(`INSERT INTO ${full} VALUES (3, 'in a transaction with a message')`);
    await sql.query('COMMIT');

    // A replication origin: the transaction is sent with an Origin message.
    await sql.query(`SELECT pg_replication_origin_create('${origin}')`);
    await sql.query(`SELECT pg_replication_origin_session_setup('${origin}')`);
    await sql.query('BEGIN');
    await sql.query(`SELECT pg_replication_origin_xact_setup('0/AB0000', now())`);
    await sql.query(`INSERT INTO ${full} VALUES (4, 'from elsewhere')`);
    await sql.query('COMMIT');
    await sql.query('SELECT pg_replication_origin_session_reset()');
    await sql.query(`SELECT pg_replication_origin_drop('${origin}')`);

    // Streamed, committed, with a subtransaction rolled back after its changes were streamed.
    await sql.query('BEGIN');
    await sql.query(bigInsert());
    await sql.query(`SELECT pg_logical_emit_message(true, '${prefix}', 'streamed')`);
    await sql.query('SAVEPOINT s1');
    await sql.query(bigInsert());
    await sql.query('ROLLBACK TO SAVEPOINT s1');
    await sql.query(`INSERT INTO ${t} (id, name) VALUES (10, 'after the rollback')`);
    await sql.query(`TRUNCATE ${parent} CASCADE`);
    await sql.query('COMMIT');

    // Streamed, rolled back.
    await sql.query('BEGIN');
    await sql.query(bigInsert());
    await sql.query('ROLLBACK');

    // Two streamed transactions whose blocks interleave.
    const other = await sqlClient(url);
    try {
      await sql.query('BEGIN');
      await other.query('BEGIN');
      await sql.query(bigInsert());
      await other.query(bigInsert());
      await sql.query(bigInsert());
      await other.query('COMMIT');
      await sql.query('COMMIT');
    } finally {
      await other.end();
    }

    // Two-phase: small prepared transactions committed and rolled back, a large one committed.
    await sql.query('BEGIN');
    await sql.query(`INSERT INTO ${t} (id, name) VALUES (20, 'prepared')`);
    await sql.query(`PREPARE TRANSACTION '${gids[0]}'`);
    await sql.query(`COMMIT PREPARED '${gids[0]}'`);
    await sql.query('BEGIN');
    await sql.query(`INSERT INTO ${t} (id, name) VALUES (21, 'rolled back')`);
    await sql.query(`PREPARE TRANSACTION '${gids[1]}'`);
    await sql.query(`ROLLBACK PREPARED '${gids[1]}'`);
    await sql.query('BEGIN');
    await sql.query(bigInsert());
    await sql.query(`PREPARE TRANSACTION '${gids[2]}'`);
    await sql.query(`COMMIT PREPARED '${gids[2]}'`);
  };

  const drop = async () => {
    await sql.query(`DROP PUBLICATION IF EXISTS ${publication}`);
    await sql.query(`DROP TABLE IF EXISTS ${t}, ${full}, ${big}, ${child}, ${parent}`);
    await sql.query(`DROP TYPE IF EXISTS ${mood}`);
  };

  return { publication, prefix, gids, run, drop };
}
