import { createHash } from 'node:crypto';
import { AuthenticationError } from '../errors';

/** Signature algorithm OIDs and the hash RFC 5929 section 4.1 prescribes for each (MD5 and SHA-1 become SHA-256). */
const HASH_BY_SIGNATURE_OID: Record<string, string> = {
  '1.2.840.113549.1.1.4': 'sha256', // md5WithRSAEncryption
  '1.2.840.113549.1.1.5': 'sha256', // sha1WithRSAEncryption
  '1.2.840.113549.1.1.14': 'sha224',
  '1.2.840.113549.1.1.11': 'sha256',
  '1.2.840.113549.1.1.12': 'sha384',
  '1.2.840.113549.1.1.13': 'sha512',
  '1.2.840.10045.4.1': 'sha256', // ecdsa-with-SHA1
  '1.2.840.10045.4.3.1': 'sha224',
  '1.2.840.10045.4.3.2': 'sha256',
  '1.2.840.10045.4.3.3': 'sha384',
  '1.2.840.10045.4.3.4': 'sha512',
  '1.2.840.10040.4.3': 'sha256', // dsa-with-sha1
  '2.16.840.1.101.3.4.3.1': 'sha224', // dsa-with-sha224
  '2.16.840.1.101.3.4.3.2': 'sha256', // dsa-with-sha256
};

/**
 * The `tls-server-end-point` channel binding data (RFC 5929 section 4): the hash of the server's
 * DER certificate, with the hash of the certificate's signature algorithm, SHA-256 for MD5 and
 * SHA-1. PostgreSQL computes the same in `be_tls_get_certificate_hash`.
 * @throws {AuthenticationError} for a signature algorithm without a single hash (RSASSA-PSS,
 * Ed25519), for which PostgreSQL cannot compute it either.
 */
export function tlsServerEndPoint(certificateDer: Buffer): Buffer {
  const oid = signatureAlgorithmOid(certificateDer);
  const hash = HASH_BY_SIGNATURE_OID[oid];
  if (hash === undefined) throw new AuthenticationError(`channel binding: no tls-server-end-point hash for the server certificate's signature algorithm ${oid}`);
  return createHash(hash).update(certificateDer).digest();
}

/** Reads `Certificate.signatureAlgorithm.algorithm` (RFC 5280 section 4.1) from DER. */
export function signatureAlgorithmOid(der: Buffer): string {
  const cert = readTlv(der, 0, 0x30);
  const tbs = readTlv(der, cert.start, 0x30);
  const algorithm = readTlv(der, tbs.end, 0x30);
  const oid = readTlv(der, algorithm.start, 0x06);
  return decodeOid(der.subarray(oid.start, oid.end));
}

interface Tlv {
  start: number;
  end: number;
}

function readTlv(der: Buffer, offset: number, tag: number): Tlv {
  if (offset + 2 > der.length || der[offset] !== tag) throw new AuthenticationError('channel binding: the server certificate is not valid DER');
  let length = der[offset + 1];
  let start = offset + 2;
  if (length & 0x80) {
    const n = length & 0x7f;
    if (n === 0 || n > 4 || start + n > der.length) throw new AuthenticationError('channel binding: the server certificate is not valid DER');
    length = 0;
    for (let i = 0; i < n; i++) length = length * 256 + der[start + i];
    start += n;
  }
  if (start + length > der.length) throw new AuthenticationError('channel binding: the server certificate is not valid DER');
  return { start, end: start + length };
}

function decodeOid(bytes: Buffer): string {
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
