// The physical limit of a logical replication client (issue 18, item 1): what the server itself
// spends decoding the same WAL, and how busy the walsender was while a client streamed.
//
// - serverDecode(): `pg_logical_slot_get_binary_changes` on a slot of its own, counted in a
//   backend's CPU (utime + stime of /proc/<pid>/stat, before and after) and wall time. The output
//   is counted server side (no row travels to the client), so this is the decoding alone: reading
//   the WAL, reorder buffering, and pgoutput writing its messages.
// - watchWalsender(): while a client streams, polls pg_replication_slots.active_pid for the slot
//   and reads that walsender's /proc/<pid>/stat. When the client ends, the walsender exits and the
//   postmaster reaps it, which adds its whole CPU to the postmaster's cutime + cstime: that delta
//   (taken once /proc/<pid> is gone) is the exact figure; the last poll (at most POLL_MS old) is a
//   lower bound kept for a sanity check.
import { existsSync, readFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { performance } from 'node:perf_hooks';

const TICK_S = 1 / Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim() || 100);
const POLL_MS = 20;

/** [utime + stime, cutime + cstime, ppid] of a process, CPU in seconds; undefined once it is gone. */
export function procTimes(pid) {
  let stat;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // The command name (field 2) is in parentheses and may hold spaces: split after the last ')'.
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // f[0] is field 3 (state): utime is field 14 → f[11], stime f[12], cutime f[13], cstime f[14], ppid field 4 → f[1].
  return { cpuS: (Number(f[11]) + Number(f[12])) * TICK_S, childrenS: (Number(f[13]) + Number(f[14])) * TICK_S, ppid: Number(f[1]) };
}

/** The postmaster's pid: the parent of this connection's backend. */
export async function postmasterPid(db) {
  const pid = (await db.query('SELECT pg_backend_pid() AS p')).rows[0].p;
  return procTimes(pid).ppid;
}

/** The pgoutput options of a scenario as `pg_logical_slot_get_binary_changes` variadic pairs. */
export function pgoutputOptions(options, publication) {
  const o = ['proto_version', String(options.protoVersion), 'publication_names', publication];
  if (options.binary) o.push('binary', 'true');
  if (options.streaming) o.push('streaming', options.streaming);
  return o;
}

/**
 * Decodes the slot up to `endLsn` inside the server and counts the messages; resolves
 * { wallS, cpuS, messages, bytes, dml }. `connect` opens a new pg Client (the backend measured).
 */
export async function serverDecode(connect, { slot, endLsn, options, publication }) {
  const db = await connect();
  try {
    const pid = (await db.query('SELECT pg_backend_pid() AS p')).rows[0].p;
    const opts = pgoutputOptions(options, publication);
    const placeholders = opts.map((_, i) => `$${i + 3}`).join(', ');
    // The first byte of a pgoutput message is its type: I, U, D are the DML events.
    const q = `SELECT count(*)::int8 AS messages, coalesce(sum(octet_length(data)), 0)::int8 AS bytes,
      count(*) FILTER (WHERE get_byte(data, 0) IN (73, 85, 68))::int8 AS dml
      FROM pg_logical_slot_get_binary_changes($1, $2::pg_lsn, NULL, ${placeholders})`;
    const before = procTimes(pid);
    const t0 = performance.now();
    const r = (await db.query(q, [slot, endLsn, ...opts])).rows[0];
    const wallS = (performance.now() - t0) / 1000;
    const after = procTimes(pid);
    return { wallS, cpuS: after.cpuS - before.cpuS, messages: Number(r.messages), bytes: Number(r.bytes), dml: Number(r.dml) };
  } finally {
    await db.end();
  }
}

/**
 * Starts watching the walsender that will serve `slot`; `stop()` (call it once the client has
 * exited) resolves { cpuS, polledCpuS, pid }: the walsender's whole CPU (connection, START_REPLICATION,
 * decoding, sending), or undefined figures if no walsender was seen.
 */
export function watchWalsender(db, slot, postmaster) {
  const reaped0 = procTimes(postmaster).childrenS;
  let pid;
  let polled;
  const samples = []; // [epoch ms, walsender CPU s] per poll, for cpuBetween()
  let busy = false;
  const timer = setInterval(async () => {
    if (busy) return;
    busy = true;
    try {
      if (pid === undefined) {
        const r = await db.query('SELECT active_pid FROM pg_replication_slots WHERE slot_name = $1', [slot]);
        pid = r.rows[0]?.active_pid ?? undefined;
      }
      if (pid !== undefined) {
        polled = procTimes(pid)?.cpuS ?? polled;
        if (polled !== undefined) samples.push([performance.timeOrigin + performance.now(), polled]);
      }
    } catch {
      // the bench's connection closing after a failed client: stop() reports what was seen
    } finally {
      busy = false;
    }
  }, POLL_MS);
  return {
    async stop() {
      clearInterval(timer);
      while (busy) await new Promise((r) => setTimeout(r, 5));
      if (pid === undefined) return { cpuS: undefined, polledCpuS: undefined, pid, samples };
      // Wait for the postmaster to reap the walsender (its /proc entry stays until then).
      const t0 = Date.now();
      while (existsSync(`/proc/${pid}`) && Date.now() - t0 < 5000) await new Promise((r) => setTimeout(r, 10));
      const reaped = procTimes(postmaster).childrenS - reaped0;
      // Another child of the postmaster exiting in the window would inflate the delta: then fall back to the poll.
      const cpuS = existsSync(`/proc/${pid}`) || reaped < (polled ?? 0) || reaped > (polled ?? 0) + 0.5 ? polled : reaped;
      return { cpuS, polledCpuS: polled, reapedCpuS: reaped, pid, samples };
    },
  };
}

/**
 * How busy the walsender was between two instants (epoch ms), from watchWalsender()'s polls: its CPU
 * at each end, interpolated between the polls around it, over the time between. The walsender is
 * found once its slot is active, so when the first poll comes after `fromMs` the window starts at
 * that poll. Undefined when the polls do not reach the end. /proc's CPU has 10 ms ticks and the polls come every POLL_MS, so
 * over a second the figure is good to about ±2 %.
 */
export function busyBetween(samples, fromMs, toMs) {
  const at = (t) => {
    for (let i = 1; i < samples.length; i++) {
      const [t1, c1] = samples[i];
      if (t1 < t) continue;
      const [t0, c0] = samples[i - 1];
      return t1 === t0 ? c1 : c0 + ((c1 - c0) * (t - t0)) / (t1 - t0);
    }
    return undefined;
  };
  if (samples.length > 0 && fromMs < samples[0][0]) fromMs = samples[0][0];
  const a = at(fromMs);
  const b = at(toMs) ?? (samples.length > 0 && samples[samples.length - 1][0] >= toMs - POLL_MS * 2 ? samples[samples.length - 1][1] : undefined);
  return a === undefined || b === undefined || toMs <= fromMs ? undefined : (b - a) / ((toMs - fromMs) / 1000);
}
