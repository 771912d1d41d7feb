/**
 * Checks a text `bytea` value before pg-types' parser sees it: that parser (postgres-bytea) loops
 * forever on a backslash followed by neither a backslash nor three octal digits, which the server
 * never prints but a corrupted frame can hold. Accepts byteaout's two forms: hex (`\x` and an even
 * number of hex digits) and escape (`\\` and `\ooo`, as `byteain` reads them).
 * @throws {Error} naming the offset of the first invalid escape; the row turns it into a `ColumnValueError`.
 */
export function checkByteaText(text: string): void {
  if (text.startsWith('\\x')) {
    if ((text.length & 1) !== 0 || !/^[0-9a-fA-F]*$/.test(text.slice(2))) throw new Error('invalid hexadecimal bytea text');
    return;
  }
  for (let i = text.indexOf('\\'); i !== -1; i = text.indexOf('\\', i)) {
    if (text.charCodeAt(i + 1) === 0x5c) i += 2;
    else if (isOctalEscape(text, i + 1)) i += 4;
    else throw new Error(`invalid escape in bytea text at character ${i}`);
  }
}

function isOctalEscape(text: string, at: number): boolean {
  const a = text.charCodeAt(at);
  const b = text.charCodeAt(at + 1);
  const c = text.charCodeAt(at + 2);
  return a >= 0x30 && a <= 0x33 && b >= 0x30 && b <= 0x37 && c >= 0x30 && c <= 0x37;
}
