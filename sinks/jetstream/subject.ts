/**
 * One subject token for a schema or table name: ASCII letters, digits, `_` and `-` stay as they
 * are; every other byte of the UTF-8 name becomes `%XX`, so dots, spaces, `*` and `>` (which
 * NATS gives meaning to) never split or widen a subject. `My Table` → `My%20Table`.
 */
export function subjectToken(name: string): string {
  let out = '';
  for (const ch of name) {
    if (/[A-Za-z0-9_-]/.test(ch)) out += ch;
    else for (const b of Buffer.from(ch, 'utf8')) out += `%${b.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

/** `<prefix>.<schema>.<table>`, each name encoded by {@link subjectToken}. */
export function tableSubject(prefix: string, schema: string, table: string): string {
  return `${prefix}.${subjectToken(schema)}.${subjectToken(table)}`;
}
