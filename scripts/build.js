#!/usr/bin/env node
// Compiles to CommonJS (dist/cjs, declarations in dist/types) and writes ES module entry points
// that re-export the CommonJS build, so `import` and `require` share one copy of every class
// (instanceof works across both) instead of loading the library twice.
'use strict';
const { execFileSync } = require('node:child_process');
const { mkdirSync, rmSync, writeFileSync } = require('node:fs');
const { join } = require('node:path');

const root = join(__dirname, '..');
rmSync(join(root, 'dist'), { recursive: true, force: true });
execFileSync(process.execPath, [require.resolve('typescript/bin/tsc'), '-p', join(root, 'tsconfig.build.json')], { stdio: 'inherit', cwd: root });
// pg-walstream/browser is real ES modules (a browser loads them as they are), not a CommonJS re-export.
execFileSync(process.execPath, [require.resolve('typescript/bin/tsc'), '-p', join(root, 'tsconfig.browser.json')], { stdio: 'inherit', cwd: root });

// One line per subpath of package.json's "exports" (spec/unit/public-surface.spec.ts checks they agree).
const ESM_ENTRIES = ['src/index', 'operators/index', 'src/protocol/index', 'src/values/index', 'src/physical/index', 'src/snapshot/index', 'src/testing', 'src/metrics/index', 'src/metrics/prometheus', 'src/metrics/opentelemetry', 'sinks/jetstream/index', 'sinks/redis/index', 'sinks/postgres/index', 'sinks/browser/index'];
for (const entry of ESM_ENTRIES) {
  const cjs = require(join(root, 'dist/cjs', entry + '.js'));
  const names = Object.keys(cjs).filter((n) => n !== 'default' && n !== '__esModule');
  const dir = join(root, 'dist/esm', entry, '..');
  mkdirSync(dir, { recursive: true });
  const depth = entry.split('/').length;
  const rel = '../'.repeat(depth) + 'cjs/' + entry + '.js';
  writeFileSync(
    join(root, 'dist/esm', entry + '.js'),
    `import cjs from '${rel}';\nexport const { ${names.join(', ')} } = cjs;\n`,
  );
  // The ES module entry's own declarations (ESM, under dist/esm's "type": "module"), so TypeScript
  // sees the `import` condition as the ES module it is, not as CommonJS.
  const types = '../'.repeat(depth) + 'types/' + entry + '.js';
  writeFileSync(join(root, 'dist/esm', entry + '.d.ts'), `export * from '${types}';\n`);
}
writeFileSync(join(root, 'dist/esm/package.json'), '{ "type": "module" }\n');
