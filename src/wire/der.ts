import { AuthenticationError, WalstreamError } from '../errors';

/** One DER element: its tag and the span of its contents, `der[start, end)`. */
export interface Tlv {
  tag: number;
  start: number;
  end: number;
}

/**
 * Reads the DER element at `offset` (X.690 section 8.1: one-byte tags, definite lengths up to 4 bytes).
 * @throws {WalstreamError} (an {@link AuthenticationError} unless `errorClass` says otherwise) when the
 * element is malformed, runs past the buffer, or `tag` is given and differs.
 */
export function readTlv(der: Buffer, offset: number, tag?: number, what = 'the server certificate'): Tlv {
  const bad = () => new AuthenticationError(`${what} is not valid DER`) as WalstreamError;
  if (offset + 2 > der.length || (tag !== undefined && der[offset] !== tag)) throw bad();
  let length = der[offset + 1];
  let start = offset + 2;
  if (length & 0x80) {
    const n = length & 0x7f;
    if (n === 0 || n > 4 || start + n > der.length) throw bad();
    length = 0;
    for (let i = 0; i < n; i++) length = length * 256 + der[start + i];
    start += n;
  }
  if (start + length > der.length) throw bad();
  return { tag: der[offset], start, end: start + length };
}

/** The elements inside a constructed element. */
export function children(der: Buffer, parent: Tlv, what?: string): Tlv[] {
  const out: Tlv[] = [];
  for (let at = parent.start; at < parent.end; ) {
    const t = readTlv(der, at, undefined, what);
    if (t.end > parent.end) throw new AuthenticationError(`${what ?? 'the server certificate'} is not valid DER`);
    out.push(t);
    at = t.end;
  }
  return out;
}

/** An OBJECT IDENTIFIER's contents as dotted text. */
export function decodeOid(bytes: Buffer): string {
  const parts: number[] = [];
  let value = 0;
  for (const byte of bytes) {
    value = value * 128 + (byte & 0x7f);
    if ((byte & 0x80) === 0) {
      if (parts.length === 0) parts.push(value < 80 ? Math.floor(value / 40) : 2, value < 80 ? value % 40 : value - 80);
      else parts.push(value);
      value = 0;
    }
  }
  return parts.join('.');
}
