// CPU profile of the pg-walstream client on the baseline WAL (node --cpu-prof), summarized as
// self time per function, so docs/benchmarks.md can name where the CPU goes.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));

export function summarize(profile, top = 15) {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const self = new Map();
  let total = 0;
  for (let i = 0; i < profile.samples.length; i++) {
    const n = byId.get(profile.samples[i]);
    const dt = profile.timeDeltas[i] ?? 0;
    const f = n.callFrame;
    const key = `${f.functionName || '(anonymous)'} ${f.url ? `${basename(f.url)}:${f.lineNumber + 1}` : ''}`.trim();
    self.set(key, (self.get(key) ?? 0) + dt);
    total += dt;
  }
  return [...self.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, top)
    .map(([fn, us]) => ({ fn, ms: us / 1000, pct: (us / total) * 100 }));
}

export async function runProfile(cfg) {
  const dir = mkdtempSync(join(tmpdir(), 'walstream-prof-'));
  const r = spawnSync(process.execPath, ['--cpu-prof', '--cpu-prof-dir', dir, join(here, 'clients/walstream.mjs'), JSON.stringify(cfg)], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`profiled client failed: ${r.stderr}`);
  const file = readdirSync(dir).find((f) => f.endsWith('.cpuprofile'));
  const rows = summarize(JSON.parse(readFileSync(join(dir, file), 'utf8')));
  console.log(`\n## CPU profile of pg-walstream on the baseline WAL (self time; ${join(dir, file)})`);
  for (const x of rows) console.log(`  ${x.pct.toFixed(1).padStart(5)}%  ${x.ms.toFixed(0).padStart(6)} ms  ${x.fn}`);
  return { file: join(dir, file), top: rows };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  for (const x of summarize(JSON.parse(readFileSync(process.argv[2], 'utf8')), Number(process.argv[3] ?? 25))) console.log(`${x.pct.toFixed(1).padStart(5)}%  ${x.ms.toFixed(0).padStart(6)} ms  ${x.fn}`);
}
