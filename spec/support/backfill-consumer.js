// A consumer process for the backfill crash test: streams a slot with a watermark backfill of one
// table and applies everything to a copy table in the same database, each event in a transaction
// of its own (at-least-once: replays converge), with the default state store. Prints
// "start <chunks done before>" at backfillStart, "chunk <n>" after each applied chunk, "end" at
// backfillEnd and "marker" once a transaction carrying the message prefix "test.end" is applied.
// The test kills it with SIGKILL mid-backfill and runs another one.
// Usage: node backfill-consumer.js <url> <slot> <publication> <table> <copy table> <chunk size>
// Runs against the build (npm run build): dist/cjs.
const { concatMap } = require('rxjs');
const { Client } = require('pg');
const { LsnFeedback, logicalReplication } = require('../../dist/cjs/src');
const { ackOnCommit, backfill, bufferTransaction, parsePgoutput } = require('../../dist/cjs/operators');

const [url, slot, publication, table, copy, chunkSize] = process.argv.slice(2);
const feedback = new LsnFeedback();
const options = { connectionString: url, slot, publications: publication };

async function main() {
  const sql = new Client({ connectionString: url });
  await sql.connect();
  const upsert = (rows) =>
    rows.length === 0
      ? Promise.resolve()
      : sql.query(`INSERT INTO ${copy} SELECT * FROM unnest($1::int[], $2::int[]) ON CONFLICT (id) DO UPDATE SET v = excluded.v`, [rows.map((r) => r[0]), rows.map((r) => r[1])]);
  logicalReplication({ ...options, feedback, messages: true })
    .pipe(
      parsePgoutput(),
      bufferTransaction(),
      backfill({ ...options, tables: [table], chunkSize: Number(chunkSize), feedback }),
      concatMap(async (e) => {
        if (e.type === 'backfillStart') process.stdout.write(`start ${e.progress.chunks}\n`);
        if (e.type === 'backfillRows') {
          await sql.query('BEGIN');
          await upsert(e.rows.map((r) => [r.get('id'), r.get('v')]));
          await sql.query('COMMIT');
          await new Promise((r) => setTimeout(r, 20));
          process.stdout.write(`chunk ${e.chunk}\n`);
        }
        if (e.type === 'backfillEnd') process.stdout.write('end\n');
        if (e.type === 'transaction') {
          await sql.query('BEGIN');
          for (const c of e.changes) {
            if (c.type === 'truncate' || c.relation.name !== table) continue;
            if (c.type === 'delete') await sql.query(`DELETE FROM ${copy} WHERE id = $1`, [c.key.get('id')]);
            else {
              if (c.type === 'update' && c.key !== undefined) await sql.query(`DELETE FROM ${copy} WHERE id = $1`, [c.key.get('id')]);
              await upsert([[c.new.get('id'), c.new.get('v')]]);
            }
          }
          await sql.query('COMMIT');
          if (e.messages.some((m) => m.prefix === 'test.end')) process.stdout.write('marker\n');
        }
        return e;
      }),
      ackOnCommit(feedback),
    )
    .subscribe({
      error(err) {
        process.stdout.write(`error ${String(err)}\n`);
        process.exit(1);
      },
    });
}
main().catch((err) => {
  process.stdout.write(`error ${String(err)}\n`);
  process.exit(1);
});
