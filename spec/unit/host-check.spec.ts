import { execFileSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { certificateNames, hostMismatch, ipv4Bytes } from '../../src/wire/host-check';

/** verify-full's host check against certificates made by the openssl command, one rule of libpq's at a time. */
describe('verify-full host check, as libpq (fe-secure-common.c, fe-secure-openssl.c)', () => {
  let dir: string;
  let n = 0;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'walstream-hostcheck-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  function cert(cn: string | undefined, san?: string): Buffer {
    const out = join(dir, `c${++n}.crt`);
    const args = ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', join(dir, `c${n}.key`), '-out', out, '-days', '1', '-subj', cn === undefined ? '/O=walstream' : `/O=walstream/CN=${cn}`];
    if (san !== undefined) args.push('-addext', `subjectAltName=${san}`);
    execFileSync('openssl', args, { stdio: 'pipe' });
    return new X509Certificate(execFileSync('openssl', ['x509', '-in', out, '-outform', 'DER'])).raw;
  }

  it('reads SANs and the CN from DER', () => {
    const names = certificateNames(cert('db.example.com', 'DNS:a.example.com,IP:10.1.2.3,IP:::1'));
    expect(names.commonName?.toString()).toBe('db.example.com');
    expect(names.altNames.map((a) => [a.type, a.type === 'dns' ? a.value.toString() : a.value.toString('hex')])).toEqual([
      ['dns', 'a.example.com'],
      ['ip', '0a010203'],
      ['ip', '00000000000000000000000000000001'],
    ]);
  });

  it('IP SANs: compared as addresses, only with an IP host', () => {
    const der = cert('ignored.example.com', 'IP:127.0.0.1,IP:::1');
    expect(hostMismatch('127.0.0.1', der)).toBeUndefined();
    expect(hostMismatch('127.1', der)).toBeUndefined(); // inet_aton's short form, as libpq reads hosts
    expect(hostMismatch('0:0:0::1', der)).toBeUndefined(); // the same IPv6 address, written differently
    expect(hostMismatch('127.0.0.2', der)).toBe('server certificate for "127.0.0.1" (and 1 other name) does not match host name "127.0.0.2"');
    // A DNS host never matches an IP SAN; with no DNS SAN, the CN is checked instead.
    expect(hostMismatch('localhost', der)).toBe('server certificate for "127.0.0.1" (and 2 other names) does not match host name "localhost"');
    expect(hostMismatch('ignored.example.com', der)).toBeUndefined();
  });

  it('DNS SAN wildcards: only as the whole left-most label, one label deep', () => {
    const der = cert(undefined, 'DNS:*.example.com');
    expect(hostMismatch('db.example.com', der)).toBeUndefined();
    expect(hostMismatch('DB.Example.COM', der)).toBeUndefined();
    expect(hostMismatch('a.db.example.com', der)).toBe('server certificate for "*.example.com" does not match host name "a.db.example.com"');
    expect(hostMismatch('example.com', der)).toBeDefined();
    const partial = cert(undefined, 'DNS:db*.example.com');
    expect(hostMismatch('db1.example.com', partial)).toBeDefined(); // Node would accept this partial-label wildcard; libpq does not
    expect(hostMismatch('db*.example.com', partial)).toBeUndefined(); // ...but compares it literally
  });

  it('the CN: used only when no SAN has the host\'s kind', () => {
    expect(hostMismatch('db.example.com', cert('db.example.com'))).toBeUndefined();
    expect(hostMismatch('db.example.com', cert('db.example.com', 'DNS:other.example.com'))).toBe('server certificate for "other.example.com" does not match host name "db.example.com"');
    // libpq's departure from RFC 6125: an IP host may match the CN next to DNS SANs (Node never checks the CN for an IP).
    expect(hostMismatch('127.0.0.1', cert('127.0.0.1', 'DNS:db.example.com'))).toBeUndefined();
    expect(hostMismatch('127.0.0.1', cert('127.0.0.1', 'IP:10.0.0.1'))).toBe('server certificate for "10.0.0.1" does not match host name "127.0.0.1"');
    expect(hostMismatch('db.example.com', cert(undefined))).toBe("could not get server's host name from server certificate");
  });

  it('reads IPv4 hosts as inet_aton does', () => {
    expect(ipv4Bytes('10.1.2.3')?.toString('hex')).toBe('0a010203');
    expect(ipv4Bytes('0x7f.1')?.toString('hex')).toBe('7f000001');
    expect(ipv4Bytes('010.0.0.1')?.toString('hex')).toBe('08000001');
    expect(ipv4Bytes('2130706433')?.toString('hex')).toBe('7f000001');
    expect(ipv4Bytes('256.0.0.1')).toBeUndefined();
    expect(ipv4Bytes('db.example.com')).toBeUndefined();
  });

  it('fails a name with an embedded NUL and an IP SAN that is neither 4 nor 16 bytes (certificates built by hand: openssl makes neither)', () => {
    const tlv = (tag: number, ...parts: Buffer[]) => {
      const body = Buffer.concat(parts);
      const len = body.length < 128 ? Buffer.from([body.length]) : Buffer.from([0x82, body.length >> 8, body.length & 0xff]);
      return Buffer.concat([Buffer.from([tag]), len, body]);
    };
    const oid = (bytes: number[]) => tlv(0x06, Buffer.from(bytes));
    const SAN = [0x55, 0x1d, 0x11]; // 2.5.29.17
    const withSans = (...names: Buffer[]) => {
      const ext = tlv(0xa3, tlv(0x30, tlv(0x30, oid(SAN), tlv(0x04, tlv(0x30, ...names)))));
      const tbs = tlv(0x30, tlv(0xa0, tlv(0x02, Buffer.from([2]))), tlv(0x02, Buffer.from([1])), tlv(0x30, oid([0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x02])), tlv(0x30), tlv(0x30), tlv(0x30), tlv(0x30), ext);
      return tlv(0x30, tbs, tlv(0x30, oid([0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x02])), tlv(0x03, Buffer.from([0])));
    };
    expect(hostMismatch('db.example.com', withSans(tlv(0x82, Buffer.from('db.example.com'))))).toBeUndefined(); // the builder makes a valid one
    expect(hostMismatch('db.example.com', withSans(tlv(0x82, Buffer.from('db.example.com\0.evil.com'))))).toBe("SSL certificate's name contains embedded null");
    expect(hostMismatch('127.0.0.1', withSans(tlv(0x87, Buffer.from([127, 0, 0, 1, 0]))))).toBe('certificate contains IP address with invalid length 5');
  });
});
