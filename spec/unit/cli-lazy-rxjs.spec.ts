import * as rxjs from 'rxjs';
import { lazyRxjsExports, lazySaslprep } from '../../cli/lazy-rxjs';

describe("the CLI's lazy rxjs root", () => {
  it('has every export of the real root, and each is the very same value', () => {
    const lazy = lazyRxjsExports();
    expect(lazy).toBeDefined();
    const names = Object.keys(rxjs).filter((n) => n !== '__esModule' && n !== 'default').sort();
    expect(Object.keys(lazy!).sort()).toEqual(names);
    for (const name of names) expect(lazy![name]).toBe((rxjs as Record<string, unknown>)[name]);
  });
});

describe("the CLI's lazy @mongodb-js/saslprep", () => {
  it('loads the package on its first call only, and gives its results, in its shape', () => {
    const real = jest.requireActual<(s: string) => string>('@mongodb-js/saslprep');
    let loads = 0;
    const lazy = lazySaslprep(() => {
      loads++;
      return real;
    });
    expect(loads).toBe(0);
    expect(lazy('pass\u00a0word\u2003!')).toBe(real('pass\u00a0word\u2003!'));
    expect(lazy('\u2168')).toBe('IX');
    expect(() => lazy('bad\u0007bell')).toThrow();
    expect(lazy.saslprep).toBe(lazy);
    expect(lazy.default).toBe(lazy);
    expect(loads).toBe(1);
  });
});
