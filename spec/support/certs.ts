import { execFileSync } from 'node:child_process';
import { chmodSync, chownSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';

/** Files of a throwaway PKI made with the `openssl` command for the TLS tests. */
export interface TestPki {
  dir: string;
  ca: string;
  wrongCa: string;
  /** Server certificate for DNS name `localhost` only (so 127.0.0.1 is a wrong host name), RSA, sha256. */
  serverCert: string;
  serverKey: string;
  /** Server certificate for `localhost` with an ECDSA P-384 key, signed with ecdsa-with-SHA384. */
  serverEcCert: string;
  serverEcKey: string;
  /** Client certificate with CN `walstream_cert`, signed by `ca`. */
  clientCert: string;
  clientKey: string;
  /** The client key encrypted with AES-256 under `clientKeyPassword`. */
  clientKeyEncrypted: string;
  clientKeyPassword: string;
  /** CRL from `ca` revoking nothing, and one revoking `serverCert`. */
  emptyCrl: string;
  revokingCrl: string;
  /**
   * Self-signed `localhost` server certificates whose *signature* algorithm is the one named
   * (the signature, not the key, decides the tls-server-end-point hash): RSA-PSS with SHA-384 in
   * its parameters, ECDSA P-256/SHA-256, ECDSA P-384/SHA-384, Ed25519.
   */
  signed: Record<SignatureKind, { cert: string; key: string }>;
  /** Server certificates signed by `ca` for the host checks: SAN `DNS:*.walstream.test`, and SAN `IP:127.0.0.1` with CN `localhost`. */
  wildcardCert: string;
  wildcardKey: string;
  ipCert: string;
  ipKey: string;
  destroy(): void;
}

export type SignatureKind = 'rsa-pss-sha384' | 'ecdsa-p256' | 'ecdsa-p384' | 'ed25519';

/**
 * Makes a CA, a wrong CA, server certificates for `localhost`, a client certificate and CRLs in a
 * fresh directory. Files the server reads are readable by the `postgres` OS user, its keys 0600
 * and owned by it when we run as root (PostgreSQL refuses keys with group or world access).
 */
export function makePki(): TestPki {
  const dir = mkdtempSync(join(tmpdir(), 'walstream-pki-'));
  chmodSync(dir, 0o755);
  const f = (name: string) => join(dir, name);
  const ssl = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
  const caExt = ['-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign'];
  ssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', f('ca.key'), '-out', f('ca.crt'), '-subj', '/CN=walstream test CA', '-days', '3', ...caExt);
  ssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', f('wrong-ca.key'), '-out', f('wrong-ca.crt'), '-subj', '/CN=walstream wrong CA', '-days', '3', ...caExt);

  writeFileSync(f('server.ext'), 'subjectAltName=DNS:localhost\nbasicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n');
  writeFileSync(f('client.ext'), 'basicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=clientAuth\n');
  const sign = (name: string, subject: string, ext: string, keyArgs: string[], digest: string) => {
    ssl('req', '-new', ...keyArgs, '-nodes', '-keyout', f(`${name}.key`), '-out', f(`${name}.csr`), '-subj', subject);
    ssl('x509', '-req', '-in', f(`${name}.csr`), '-CA', f('ca.crt'), '-CAkey', f('ca.key'), '-CAcreateserial', '-out', f(`${name}.crt`), '-days', '3', `-${digest}`, '-extfile', f(ext));
  };
  sign('server', '/CN=localhost', 'server.ext', ['-newkey', 'rsa:2048'], 'sha256');
  sign('server-ec', '/CN=localhost', 'server.ext', ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-384'], 'sha384');
  writeFileSync(f('wildcard.ext'), 'subjectAltName=DNS:*.walstream.test\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n');
  writeFileSync(f('ip.ext'), 'subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n');
  sign('wildcard', '/CN=walstream.test', 'wildcard.ext', ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256'], 'sha256');
  sign('ip', '/CN=localhost', 'ip.ext', ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256'], 'sha256');
  sign('client', '/CN=walstream_cert', 'client.ext', ['-newkey', 'rsa:2048'], 'sha256');
  const selfSigned: Record<SignatureKind, string[]> = {
    'rsa-pss-sha384': ['-newkey', 'rsa:2048', '-sigopt', 'rsa_padding_mode:pss', '-sigopt', 'rsa_pss_saltlen:-1', '-sha384'],
    'ecdsa-p256': ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-sha256'],
    'ecdsa-p384': ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-384', '-sha384'],
    ed25519: ['-newkey', 'ed25519'],
  };
  for (const [kind, args] of Object.entries(selfSigned)) {
    ssl('req', '-x509', ...args, '-nodes', '-keyout', f(`${kind}.key`), '-out', f(`${kind}.crt`), '-subj', '/CN=localhost', '-days', '3', '-addext', 'subjectAltName=DNS:localhost');
  }
  const clientKeyPassword = 'key-passphrase-Zq7';
  ssl('pkey', '-in', f('client.key'), '-out', f('client-enc.key'), '-aes256', '-passout', `pass:${clientKeyPassword}`);

  // A minimal `openssl ca` database, to revoke the server certificate.
  writeFileSync(f('index.txt'), '');
  writeFileSync(f('crlnumber'), '01\n');
  writeFileSync(
    f('ca.cnf'),
    `[ca]\ndefault_ca = test\n[test]\ndatabase = ${f('index.txt')}\ncrlnumber = ${f('crlnumber')}\ncertificate = ${f('ca.crt')}\nprivate_key = ${f('ca.key')}\ndefault_md = sha256\ndefault_crl_days = 3\n`,
  );
  ssl('ca', '-config', f('ca.cnf'), '-gencrl', '-out', f('empty.crl'));
  ssl('ca', '-config', f('ca.cnf'), '-revoke', f('server.crt'));
  ssl('ca', '-config', f('ca.cnf'), '-gencrl', '-out', f('revoking.crl'));

  for (const key of ['ca.key', 'wrong-ca.key', 'client.key', 'client-enc.key']) chmodSync(f(key), 0o600);
  for (const key of ['server.key', 'server-ec.key', 'wildcard.key', 'ip.key', ...Object.keys(selfSigned).map((k) => `${k}.key`)]) {
    chmodSync(f(key), 0o600);
    if (userInfo().uid === 0) {
      const uid = Number(execFileSync('id', ['-u', 'postgres']).toString().trim());
      const gid = Number(execFileSync('id', ['-g', 'postgres']).toString().trim());
      chownSync(f(key), uid, gid);
    }
  }
  for (const pub of ['ca.crt', 'server.crt', 'server-ec.crt', 'wildcard.crt', 'ip.crt', ...Object.keys(selfSigned).map((k) => `${k}.crt`)]) chmodSync(f(pub), 0o644);

  return {
    dir,
    ca: f('ca.crt'),
    wrongCa: f('wrong-ca.crt'),
    serverCert: f('server.crt'),
    serverKey: f('server.key'),
    serverEcCert: f('server-ec.crt'),
    serverEcKey: f('server-ec.key'),
    clientCert: f('client.crt'),
    clientKey: f('client.key'),
    clientKeyEncrypted: f('client-enc.key'),
    clientKeyPassword,
    emptyCrl: f('empty.crl'),
    revokingCrl: f('revoking.crl'),
    wildcardCert: f('wildcard.crt'),
    wildcardKey: f('wildcard.key'),
    ipCert: f('ip.crt'),
    ipKey: f('ip.key'),
    signed: Object.fromEntries(Object.keys(selfSigned).map((k) => [k, { cert: f(`${k}.crt`), key: f(`${k}.key`) }])) as TestPki['signed'],
    destroy: () => rmSync(dir, { recursive: true, force: true }),
  };
}
