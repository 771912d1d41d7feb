import { promises as fs } from 'node:fs';

/** What a password file entry is matched against. */
export interface PgpassKey {
  host: string;
  port: number;
  database: string;
  user: string;
}

/** Unix-socket directories that libpq builds use by default; a connection through one matches `localhost`. */
const DEFAULT_SOCKET_DIRS = new Set(['/tmp', '/var/run/postgresql', '/run/postgresql']);

/**
 * Looks a password up in a password file as libpq does ("The Password File" in the libpq docs,
 * `passwordFromFile` in `fe-connect.c`): lines `hostname:port:database:username:password`, `*`
 * matches anything, `\` escapes `:` and `\`, lines starting with `#` are comments, the first
 * matching line wins. On Unix the file is ignored (with `warn`) unless it is a plain file without
 * group or world access. A missing file is no error.
 *
 * @returns the password, or undefined when no line matches.
 * @example
 * const password = await passwordFromFile(`${os.homedir()}/.pgpass`, { host: 'db', port: 5432, database: 'app', user: 'repl' });
 */
export async function passwordFromFile(file: string, key: PgpassKey, warn: (message: string) => void = () => {}): Promise<string | undefined> {
  let text: string;
  try {
    const stat = await fs.stat(file);
    if (!stat.isFile()) {
      warn(`password file "${file}" is not a plain file`);
      return undefined;
    }
    if (process.platform !== 'win32' && (stat.mode & 0o077) !== 0) {
      warn(`password file "${file}" has group or world access; permissions should be u=rw (0600) or less`);
      return undefined;
    }
    text = await fs.readFile(file, 'utf8');
  } catch {
    return undefined;
  }
  const host = key.host === '' || DEFAULT_SOCKET_DIRS.has(key.host) ? 'localhost' : key.host;
  const wanted = [host, String(key.port), key.database, key.user];
  for (const rawLine of text.split('\n')) {
    const line = rawLine.endsWith('\r') ? rawLine.slice(0, -1) : rawLine;
    if (line === '' || line.startsWith('#')) continue;
    const fields = splitFields(line);
    if (fields === undefined) continue;
    if (wanted.every((value, i) => fields[i] === '*' || unescape(fields[i]) === value)) {
      return unescape(fields[4]);
    }
  }
  return undefined;
}

/** Splits at unescaped colons into the four key fields and the password (which ends at a further unescaped colon, as in libpq). */
function splitFields(line: string): string[] | undefined {
  const fields: string[] = [];
  let start = 0;
  for (let i = 0; i <= line.length && fields.length < 5; i++) {
    if (line[i] === '\\' && i + 1 < line.length) i++;
    else if (line[i] === ':' || i === line.length) {
      fields.push(line.slice(start, i));
      start = i + 1;
    }
  }
  return fields.length === 5 ? fields : undefined;
}

/** libpq drops a backslash and keeps the character after it; a backslash at the very end stays. */
function unescape(field: string): string {
  return field.replace(/\\([^])/g, '$1');
}
