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

/**
 * Makes `require('rxjs')` in this process return {@link lazyRxjsExports}. Only the `pg-walstream`
 * command calls it, first thing (cli/main.ts); the library never does.
 */
export function installLazyRxjs(): void {
  const lazy = lazyRxjsExports();
  if (lazy === undefined) return;
  const mod = Module as unknown as { _load(request: string, parent: unknown, isMain: boolean): unknown };
  const load = mod._load;
  mod._load = function (request: string, ...rest: [unknown, boolean]) {
    return request === 'rxjs' ? lazy : load.call(this, request, ...rest);
  };
}
