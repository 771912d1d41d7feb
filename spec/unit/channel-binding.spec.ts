import { execFileSync } from 'node:child_process';
import { createHash, X509Certificate } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AuthenticationError } from '../../src';
import { signatureAlgorithmOid, tlsServerEndPoint, tlsServerEndPointHash } from '../../src/wire/channel-binding';

/** Self-signed certificates made with the openssl command, by key type and signature digest. */
describe('tls-server-end-point (RFC 5929 section 4.1)', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'walstream-cb-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  function certificate(name: string, keyArgs: string[], digest?: string): Buffer {
    const out = join(dir, `${name}.crt`);
    execFileSync('openssl', ['req', '-x509', ...keyArgs, '-nodes', '-keyout', join(dir, `${name}.key`), '-out', out, '-subj', `/CN=${name}`, '-days', '1', ...(digest ? [`-${digest}`] : [])], { stdio: 'pipe' });
    return new X509Certificate(execFileSync('openssl', ['x509', '-in', out, '-outform', 'DER'])).raw;
  }

  it.each([
    ['RSA, SHA-1 signature', ['-newkey', 'rsa:2048'], 'sha1', '1.2.840.113549.1.1.5', 'sha256'],
    ['RSA, SHA-256 signature', ['-newkey', 'rsa:2048'], 'sha256', '1.2.840.113549.1.1.11', 'sha256'],
    ['RSA, SHA-384 signature', ['-newkey', 'rsa:2048'], 'sha384', '1.2.840.113549.1.1.12', 'sha384'],
    ['RSA, SHA-512 signature', ['-newkey', 'rsa:2048'], 'sha512', '1.2.840.113549.1.1.13', 'sha512'],
    ['ECDSA P-256, SHA-256', ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256'], 'sha256', '1.2.840.10045.4.3.2', 'sha256'],
    ['ECDSA P-384, SHA-384', ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-384'], 'sha384', '1.2.840.10045.4.3.3', 'sha384'],
    ['ECDSA P-256, SHA-1 signature', ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256'], 'sha1', '1.2.840.10045.4.1', 'sha256'],
  ])('%s: hashes with %s rules', (name, keyArgs, digest, oid, hash) => {
    const der = certificate(name.replace(/\W+/g, '-'), keyArgs as string[], digest as string);
    expect(signatureAlgorithmOid(der)).toBe(oid);
    expect(tlsServerEndPoint(der).equals(createHash(hash as string).update(der).digest())).toBe(true);
  });

  it.each([
    ['RSASSA-PSS, SHA-384 in the parameters', ['-newkey', 'rsa:2048', '-sigopt', 'rsa_padding_mode:pss', '-sha384'], 'sha384'],
    ['RSASSA-PSS, SHA-512 in the parameters', ['-newkey', 'rsa:2048', '-sigopt', 'rsa_padding_mode:pss', '-sha512'], 'sha512'],
    ['RSASSA-PSS, SHA-256 in the parameters', ['-newkey', 'rsa:2048', '-sigopt', 'rsa_padding_mode:pss', '-sha256'], 'sha256'],
    ['an RSA-PSS key', ['-newkey', 'rsa-pss', '-pkeyopt', 'rsa_keygen_bits:2048', '-sha384'], 'sha384'],
  ])('%s: hashes with the digest named in the PSS parameters', (name, args, hash) => {
    const der = certificate(name.replace(/\W+/g, '-'), args as string[]);
    expect(signatureAlgorithmOid(der)).toBe('1.2.840.113549.1.1.10');
    expect(tlsServerEndPointHash(der)).toBe(hash);
    expect(tlsServerEndPoint(der).equals(createHash(hash as string).update(der).digest())).toBe(true);
  });

  it('refuses Ed25519, whose signature has no separate hash (PostgreSQL cannot bind it either)', () => {
    const der = certificate('ed25519', ['-newkey', 'ed25519']);
    expect(signatureAlgorithmOid(der)).toBe('1.3.101.112');
    expect(tlsServerEndPointHash(der)).toBeUndefined();
    expect(() => tlsServerEndPoint(der)).toThrow(AuthenticationError);
  });

  it('refuses bytes that are not a DER certificate', () => {
    expect(() => tlsServerEndPoint(Buffer.from('not a certificate'))).toThrow('not valid DER');
    expect(() => tlsServerEndPoint(Buffer.from([0x30, 0x82, 0xff, 0xff, 0x30]))).toThrow(AuthenticationError);
  });
});
