import { readFileSync } from 'node:fs';
import Module from 'node:module';
import { dirname, join } from 'node:path';

/**
 * rxjs's CommonJS root (`require('rxjs')`) loads all its 220-odd modules at once, about 8 MB of
 * the CLI's resident memory, of which `pg-walstream stream` uses a dozen. This builds the same
 * exports object from the root's own source, with each export loaded from its module on first
 * access: the very module files (the same classes, so `instanceof` holds), only later.
 * Returns undefined when the root does not have the expected shape (another rxjs release), in
 * which case the CLI loads rxjs as usual.
 */
export function lazyRxjsExports(): Record<string, unknown> | undefined {
  let root: string;
  let source: string;
  try {
    root = require.resolve('rxjs');
    source = readFileSync(root, 'utf8');
  } catch {
    return undefined;
  }
  const dir = dirname(root);
  const modules = new Map<string, string>();
  for (const m of source.matchAll(/var (\w+) = require\("(\.\/internal\/[\w/]+)"\);/g)) modules.set(m[1], join(dir, m[2]));
  const exports: Record<string, unknown> = {};
  Object.defineProperty(exports, '__esModule', { value: true });
  let count = 0;
  for (const m of source.matchAll(/Object\.defineProperty\(exports, "(\w+)", \{ enumerable: true, get: function \(\) \{ return (\w+)\.(\w+); \} \}\);/g)) {
    const [, name, variable, property] = m;
    const file = modules.get(variable);
    if (file === undefined) return undefined;
    Object.defineProperty(exports, name, {
      enumerable: true,
      configurable: true,
      get() {
        const value = (require(file) as Record<string, unknown>)[property];
        Object.defineProperty(exports, name, { value, enumerable: true, writable: false, configurable: false });
        return value;
      },
    });
    count++;
  }
  // Every other line of the root re-exports type-only modules; anything else means another layout.
  const other = source.match(/__exportStar\(require\("[^"]+"\), exports\);/g) ?? [];
  if (count < 100 || other.some((line) => !line.includes('./internal/types'))) return undefined;
  return exports;
}

type Saslprep = (input: string, opts?: { allowUnassigned?: boolean }) => string;

/**
 * `@mongodb-js/saslprep` as a function that loads the package (with `loadReal`) on its first call.
 * Loading it builds its Unicode tables, about 2.5 MB of the CLI's resident memory, and the CLI
 * needs it only for a SCRAM password with non-ASCII characters (`normalizePassword` in
 * src/wire/scram.ts returns an ASCII one unchanged, as libpq does). It has the package's own
 * shape: the function, with `saslprep` and `default` pointing to itself.
 */
export function lazySaslprep(loadReal: () => Saslprep): Saslprep & { saslprep: Saslprep; default: Saslprep } {
  let real: Saslprep | undefined;
  const saslprep: Saslprep = (input, opts) => (real ??= loadReal())(input, opts);
  return Object.assign(saslprep, { saslprep, default: saslprep });
}

/**
 * Makes `require('rxjs')` in this process return {@link lazyRxjsExports}, and
 * `require('@mongodb-js/saslprep')` {@link lazySaslprep}. Only the `pg-walstream` command calls it,
 * first thing (cli/main.ts); the library never does.
 */
export function installLazyRxjs(): void {
  const lazy = lazyRxjsExports();
  const mod = Module as unknown as { _load(request: string, parent: unknown, isMain: boolean): unknown };
  const load = mod._load;
  let saslprep: Saslprep | undefined;
  mod._load = function (request: string, ...rest: [unknown, boolean]) {
    if (request === 'rxjs' && lazy !== undefined) return lazy;
    if (request === '@mongodb-js/saslprep') return (saslprep ??= lazySaslprep(() => load.call(this, request, ...rest) as Saslprep));
    return load.call(this, request, ...rest);
  };
}
