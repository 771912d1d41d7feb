import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { passwordFromFile } from '../../src/wire/pgpass';

describe('passwordFromFile (libpq password file)', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'walstream-pgpass-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  function file(lines: string[], mode = 0o600): string {
    const path = join(dir, `pgpass-${Math.random().toString(36).slice(2)}`);
    writeFileSync(path, lines.join('\n'));
    chmodSync(path, mode);
    return path;
  }
  const key = { host: 'db.example.com', port: 5432, database: 'app', user: 'repl' };

  it('returns the first matching line, fields compared exactly', async () => {
    const f = file(['other:5432:app:repl:no', 'db.example.com:5433:app:repl:no', 'db.example.com:5432:app:repl:first', 'db.example.com:5432:app:repl:second']);
    expect(await passwordFromFile(f, key)).toBe('first');
  });

  it('treats * as a wildcard in any of the first four fields', async () => {
    expect(await passwordFromFile(file(['*:*:*:repl:wild']), key)).toBe('wild');
    expect(await passwordFromFile(file(['*:*:*:other:wild']), key)).toBeUndefined();
  });

  it('unescapes \\: and \\\\ in fields and password, and ends the password at an unescaped colon', async () => {
    const f = file(['db.example.com:5432:app:repl:pa\\:ss\\\\word:ignored']);
    expect(await passwordFromFile(f, key)).toBe('pa:ss\\word');
    const g = file(['db.example.com:5432:a\\:pp:repl:colon-db']);
    expect(await passwordFromFile(g, { ...key, database: 'a:pp' })).toBe('colon-db');
  });

  it('skips comments, short lines and CRLF endings', async () => {
    const f = file(['# db.example.com:5432:app:repl:commented', 'db.example.com:5432:app', 'db.example.com:5432:app:repl:crlf\r', '']);
    expect(await passwordFromFile(f, key)).toBe('crlf');
  });

  it('matches a connection through the default Unix socket directory as localhost', async () => {
    const f = file(['localhost:5432:app:repl:socket']);
    expect(await passwordFromFile(f, { ...key, host: '/var/run/postgresql' })).toBe('socket');
    expect(await passwordFromFile(f, { ...key, host: '/tmp' })).toBe('socket');
    expect(await passwordFromFile(f, { ...key, host: '/srv/pg' })).toBeUndefined();
  });

  it('ignores a file with group or world access, with a warning', async () => {
    const warnings: string[] = [];
    const f = file(['*:*:*:*:exposed'], 0o644);
    expect(await passwordFromFile(f, key, (w) => warnings.push(w))).toBeUndefined();
    expect(warnings[0]).toContain('has group or world access');
  });

  it('ignores a directory and a missing file', async () => {
    const warnings: string[] = [];
    const sub = join(dir, 'a-directory');
    mkdirSync(sub);
    expect(await passwordFromFile(sub, key, (w) => warnings.push(w))).toBeUndefined();
    expect(warnings[0]).toContain('is not a plain file');
    expect(await passwordFromFile(join(dir, 'missing'), key)).toBeUndefined();
  });
});
