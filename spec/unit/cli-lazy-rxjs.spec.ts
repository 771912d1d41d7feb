import * as rxjs from 'rxjs';
import { lazyRxjsExports } from '../../cli/lazy-rxjs';

describe("the CLI's lazy rxjs root", () => {
  it('has every export of the real root, and each is the very same value', () => {
    const lazy = lazyRxjsExports();
    expect(lazy).toBeDefined();
    const names = Object.keys(rxjs).filter((n) => n !== '__esModule' && n !== 'default').sort();
    expect(Object.keys(lazy!).sort()).toEqual(names);
    for (const name of names) expect(lazy![name]).toBe((rxjs as Record<string, unknown>)[name]);
  });
});
