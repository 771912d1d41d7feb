// Shared by the examples: an embedded PostgreSQL 18 with a table, a publication and a slot.
// In your own code, import from 'pg-walstream' and 'pg-walstream/operators' instead of '../src'.
import { Client } from 'pg';
import { type LocalServer, startEmbeddedPostgres } from '../src/embedded';

export interface Demo {
  server: LocalServer;
  sql: Client;
  /** Inserts `count` rows into `orders`, one transaction each, and returns their ids. */
  insertOrders(count: number, firstId?: number): Promise<number[]>;
  /** A new SQL connection, after the server restarted. */
  reconnect(): Promise<void>;
  close(): Promise<void>;
}

export async function startDemo(): Promise<Demo> {
  console.log('starting embedded PostgreSQL 18 ...');
  const server = await startEmbeddedPostgres();
  const connect = async () => {
    const client = new Client({ connectionString: server.url });
    client.on('error', () => {}); // the restart example stops the server under it
    await client.connect();
    return client;
  };
  const sql = await connect();
  await sql.query('CREATE TABLE orders (id int PRIMARY KEY, item text, amount numeric)');
  await sql.query('CREATE PUBLICATION shop FOR TABLE orders');
  await sql.query(`SELECT pg_create_logical_replication_slot('shop', 'pgoutput')`);
  const demo: Demo = {
    server,
    sql,
    async insertOrders(count, firstId = 1) {
      const ids: number[] = [];
      for (let id = firstId; id < firstId + count; id++) {
        await demo.sql.query('INSERT INTO orders VALUES ($1, $2, $3)', [id, `item-${id}`, id * 1.5]);
        ids.push(id);
      }
      return ids;
    },
    async reconnect() {
      await demo.sql.end().catch(() => {});
      demo.sql = await connect();
    },
    async close() {
      await demo.sql.end().catch(() => {});
      await server.destroy();
    },
  };
  return demo;
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
