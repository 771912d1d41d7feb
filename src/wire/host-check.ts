import { isIPv6 } from 'node:net';
import { children, decodeOid, readTlv } from './der';

const SUBJECT_ALT_NAME = '2.5.29.17';
const COMMON_NAME = '2.5.4.3';
const WHAT = 'the server certificate';

/** The names a certificate offers for the host check, in certificate order. */
export interface CertificateNames {
  /** subjectAltName entries of type dNSName (`dns`, the IA5String bytes) and iPAddress (`ip`, 4 or 16 bytes). */
  altNames: ({ type: 'dns'; value: Buffer } | { type: 'ip'; value: Buffer })[];
  /** The first commonName attribute of the subject, raw bytes, if any. */
  commonName?: Buffer;
}

/**
 * The `verify-full` host name check, exactly as libpq does it
 * (`pgtls_verify_peer_name_matches_certificate_guts` in `fe-secure-openssl.c`,
 * `pq_verify_peer_name_matches_certificate*` in `fe-secure-common.c`):
 * - dNSName SANs and the CN match the host case-insensitively, or by a wildcard that is the
 *   whole left-most label (`*.example.com` matches `db.example.com`, not `a.db.example.com`,
 *   `example.com` or `db*.example.com`-style partial labels);
 * - iPAddress SANs match only an IP host, compared as addresses (4 or 16 bytes; IPv4 hosts as
 *   `inet_aton` reads them, so `127.1` is 127.0.0.1);
 * - the CN is consulted only when no SAN has the host's kind (DNS for a name, IP for an address),
 *   so an IP host may match a CN next to DNS SANs, as libpq allows;
 * - a name with an embedded NUL, or an IP SAN of another length, fails the check.
 * Returns undefined when the certificate matches, else the error message libpq gives.
 *
 * @example
 * hostMismatch('db.example.com', tlsSocket.getPeerCertificate().raw) // undefined, or 'server certificate for "x" does not match host name "db.example.com"'
 */
export function hostMismatch(host: string, certificateDer: Buffer): string | undefined {
  if (host === '') return 'host name must be specified for a verified SSL connection';
  const names = certificateNames(certificateDer);
  const hostIsIp = ipv4Bytes(host) !== undefined || isIPv6(host);
  let checkCn = true;
  let examined = 0;
  let firstName: string | undefined;
  let result: 'match' | 'no' | string = 'no';
  for (const name of names.altNames) {
    if ((name.type === 'ip') === hostIsIp) checkCn = false;
    examined++;
    const [outcome, shown] = name.type === 'dns' ? matchName(host, name.value) : matchIp(host, name.value);
    firstName ??= shown;
    if (outcome !== 'no') {
      result = outcome;
      checkCn = false;
      break;
    }
  }
  if (checkCn && names.commonName !== undefined) {
    examined++;
    const [outcome, shown] = matchName(host, names.commonName);
    firstName ??= shown;
    result = outcome;
  }
  if (result === 'match') return undefined;
  if (result !== 'no') return result;
  if (examined > 1) return `server certificate for "${firstName}" (and ${examined - 1} other name${examined - 1 === 1 ? '' : 's'}) does not match host name "${host}"`;
  if (examined === 1) return `server certificate for "${firstName}" does not match host name "${host}"`;
  return "could not get server's host name from server certificate";
}

/** Reads the subjectAltName entries and the first subject CN from a DER certificate (RFC 5280 section 4.1). */
export function certificateNames(der: Buffer): CertificateNames {
  const cert = readTlv(der, 0, 0x30, WHAT);
  const tbs = readTlv(der, cert.start, 0x30, WHAT);
  const fields = children(der, tbs, WHAT);
  let i = fields[0]?.tag === 0xa0 ? 1 : 0; // [0] version
  const subject = fields[i + 4]; // serialNumber, signature, issuer, validity, subject
  const out: CertificateNames = { altNames: [] };
  if (subject?.tag === 0x30) {
    outer: for (const rdn of children(der, subject, WHAT)) {
      for (const atv of children(der, rdn, WHAT)) {
        const [type, value] = children(der, atv, WHAT);
        if (type?.tag === 0x06 && decodeOid(der.subarray(type.start, type.end)) === COMMON_NAME && value !== undefined) {
          out.commonName = der.subarray(value.start, value.end);
          break outer;
        }
      }
    }
  }
  for (i = i + 6; i < fields.length; i++) {
    if (fields[i].tag !== 0xa3) continue; // [3] extensions
    for (const ext of children(der, readTlv(der, fields[i].start, 0x30, WHAT), WHAT)) {
      const parts = children(der, ext, WHAT);
      if (parts[0]?.tag !== 0x06 || decodeOid(der.subarray(parts[0].start, parts[0].end)) !== SUBJECT_ALT_NAME) continue;
      const octets = parts[parts.length - 1];
      for (const name of children(der, readTlv(der, octets.start, 0x30, WHAT), WHAT)) {
        if (name.tag === 0x82) out.altNames.push({ type: 'dns', value: der.subarray(name.start, name.end) });
        else if (name.tag === 0x87) out.altNames.push({ type: 'ip', value: der.subarray(name.start, name.end) });
      }
    }
  }
  return out;
}

/** libpq's `pq_verify_peer_name_matches_certificate_name`: exact (ASCII case-insensitive) or a left-most-label wildcard. */
function matchName(host: string, raw: Buffer): ['match' | 'no' | string, string] {
  const name = raw.toString('latin1');
  if (raw.includes(0)) return ["SSL certificate's name contains embedded null", name];
  if (lower(name) === lower(host) || wildcardMatch(name, host)) return ['match', name];
  return ['no', name];
}

/** `wildcard_certificate_match` in `fe-secure-common.c`. */
function wildcardMatch(pattern: string, host: string): boolean {
  if (pattern.length < 3 || pattern[0] !== '*' || pattern[1] !== '.') return false;
  if (pattern.length > host.length) return false;
  const tail = host.length - pattern.length + 1;
  if (lower(pattern.slice(1)) !== lower(host.slice(tail))) return false;
  // The wildcard covers exactly one label: no dot before where the pattern starts to match.
  const firstDot = host.indexOf('.');
  return !(firstDot >= 0 && firstDot < tail);
}

/** `pq_verify_peer_name_matches_certificate_ip`: the host read as an address, compared byte for byte. */
function matchIp(host: string, ip: Buffer): ['match' | 'no' | string, string] {
  if (ip.length === 4) {
    const shown = [...ip].join('.');
    const mine = ipv4Bytes(host);
    return [mine !== undefined && mine.equals(ip) ? 'match' : 'no', shown];
  }
  if (ip.length === 16) {
    const groups: string[] = [];
    for (let i = 0; i < 16; i += 2) groups.push(ip.readUInt16BE(i).toString(16));
    const shown = groups.join(':');
    const mine = ipv6Bytes(host);
    return [mine !== undefined && mine.equals(ip) ? 'match' : 'no', shown];
  }
  return [`certificate contains IP address with invalid length ${ip.length}`, ''];
}

/** IPv4 text as glibc's `inet_aton` reads it: 1 to 4 parts, decimal, octal (leading 0) or hex (0x), the last filling the rest. */
export function ipv4Bytes(text: string): Buffer | undefined {
  const m = /^([^\s]*)(\s.*)?$/s.exec(text);
  if (m === null || m[1] === '') return undefined;
  const parts = m[1].split('.');
  if (parts.length > 4) return undefined;
  const values: number[] = [];
  for (const p of parts) {
    let v: number;
    if (/^0[xX][0-9a-fA-F]*$/.test(p)) v = p.length === 2 ? 0 : parseInt(p.slice(2), 16);
    else if (/^0[0-7]*$/.test(p)) v = parseInt(p, 8);
    else if (/^[1-9][0-9]*$/.test(p)) v = parseInt(p, 10);
    else return undefined;
    values.push(v);
  }
  const last = values.pop()!;
  if (values.some((v) => v > 255) || last >= 2 ** (8 * (4 - values.length))) return undefined;
  const out = Buffer.alloc(4);
  values.forEach((v, i) => (out[i] = v));
  out.writeUIntBE(last, values.length, 4 - values.length);
  return out;
}

function ipv6Bytes(text: string): Buffer | undefined {
  if (!isIPv6(text)) return undefined;
  let head = text;
  let v4: Buffer | undefined;
  const lastColon = text.lastIndexOf(':');
  if (text.slice(lastColon + 1).includes('.')) {
    v4 = ipv4Bytes(text.slice(lastColon + 1));
    head = text.slice(0, lastColon + 1) + '0:0';
  }
  const [left, right] = head.includes('::') ? head.split('::') : [head, undefined];
  const l = left === '' ? [] : left.split(':');
  const r = right === undefined || right === '' ? [] : right.split(':');
  const groups = right === undefined ? l : [...l, ...Array<string>(8 - l.length - r.length).fill('0'), ...r];
  const out = Buffer.alloc(16);
  groups.forEach((g, i) => out.writeUInt16BE(parseInt(g, 16), i * 2));
  if (v4 !== undefined) v4.copy(out, 12);
  return out;
}

function lower(s: string): string {
  return s.replace(/[A-Z]/g, (c) => c.toLowerCase());
}
