import { createHash } from 'node:crypto';
import { AuthenticationError } from '../errors';
import { type Tlv, decodeOid, readTlv } from './der';

/** Signature algorithm OIDs and the hash RFC 5929 section 4.1 prescribes for each (MD5 and SHA-1 become SHA-256). */
const HASH_BY_SIGNATURE_OID: Record<string, string> = {
  '1.2.840.113549.1.1.4': 'sha256', // md5WithRSAEncryption
  '1.2.840.113549.1.1.5': 'sha256', // sha1WithRSAEncryption
  '1.2.840.113549.1.1.14': 'sha224',
  '1.2.840.113549.1.1.11': 'sha256',
  '1.2.840.113549.1.1.12': 'sha384',
  '1.2.840.113549.1.1.13': 'sha512',
  '1.2.840.113549.1.1.15': 'sha512-224',
  '1.2.840.113549.1.1.16': 'sha512-256',
  '1.2.840.10045.4.1': 'sha256', // ecdsa-with-SHA1
  '1.2.840.10045.4.3.1': 'sha224',
  '1.2.840.10045.4.3.2': 'sha256',
  '1.2.840.10045.4.3.3': 'sha384',
  '1.2.840.10045.4.3.4': 'sha512',
  '1.2.840.10040.4.3': 'sha256', // dsa-with-sha1
  '2.16.840.1.101.3.4.3.1': 'sha224', // dsa-with-sha224
  '2.16.840.1.101.3.4.3.2': 'sha256', // dsa-with-sha256
  '2.16.840.1.101.3.4.3.3': 'sha384', // dsa-with-sha384
  '2.16.840.1.101.3.4.3.4': 'sha512', // dsa-with-sha512
  '2.16.840.1.101.3.4.3.9': 'sha3-224', // ecdsa-with-SHA3-224
  '2.16.840.1.101.3.4.3.10': 'sha3-256',
  '2.16.840.1.101.3.4.3.11': 'sha3-384',
  '2.16.840.1.101.3.4.3.12': 'sha3-512',
  '2.16.840.1.101.3.4.3.13': 'sha3-224', // rsassa-pkcs1-v1_5-with-SHA3-224
  '2.16.840.1.101.3.4.3.14': 'sha3-256',
  '2.16.840.1.101.3.4.3.15': 'sha3-384',
  '2.16.840.1.101.3.4.3.16': 'sha3-512',
};

/** Hash algorithm OIDs (RSASSA-PSS parameters name the hash this way), MD5 and SHA-1 raised to SHA-256. */
const HASH_BY_DIGEST_OID: Record<string, string> = {
  '1.2.840.113549.2.5': 'sha256', // md5
  '1.3.14.3.2.26': 'sha256', // sha1
  '2.16.840.1.101.3.4.2.4': 'sha224',
  '2.16.840.1.101.3.4.2.1': 'sha256',
  '2.16.840.1.101.3.4.2.2': 'sha384',
  '2.16.840.1.101.3.4.2.3': 'sha512',
  '2.16.840.1.101.3.4.2.5': 'sha512-224',
  '2.16.840.1.101.3.4.2.6': 'sha512-256',
  '2.16.840.1.101.3.4.2.7': 'sha3-224',
  '2.16.840.1.101.3.4.2.8': 'sha3-256',
  '2.16.840.1.101.3.4.2.9': 'sha3-384',
  '2.16.840.1.101.3.4.2.10': 'sha3-512',
};

const RSASSA_PSS = '1.2.840.113549.1.1.10';

/**
 * The hash `tls-server-end-point` uses for a certificate, as PostgreSQL picks it
 * (`be_tls_get_certificate_hash` in `be-secure-openssl.c`, through OpenSSL's
 * `X509_get_signature_info`): the digest of the signature algorithm, the one named in the
 * parameters for RSASSA-PSS (SHA-1 when absent, the RFC 4055 default), MD5 and SHA-1 raised to
 * SHA-256. Undefined for algorithms without a separate digest (Ed25519, Ed448) or unknown ones:
 * PostgreSQL fails the exchange for them ("could not find digest for NID UNDEF").
 * @throws {AuthenticationError} for bytes that are not a DER certificate.
 */
export function tlsServerEndPointHash(certificateDer: Buffer): string | undefined {
  const { oid, parameters } = signatureAlgorithm(certificateDer);
  if (oid !== RSASSA_PSS) return HASH_BY_SIGNATURE_OID[oid];
  // RSASSA-PSS-params ::= SEQUENCE { hashAlgorithm [0] EXPLICIT AlgorithmIdentifier DEFAULT sha1, ... }
  if (parameters === undefined || certificateDer[parameters.start] !== 0x30) return 'sha256';
  const params = readTlv(certificateDer, parameters.start, 0x30);
  if (params.start >= params.end || certificateDer[params.start] !== 0xa0) return 'sha256';
  const explicit = readTlv(certificateDer, params.start, 0xa0);
  const hashAlgorithm = readTlv(certificateDer, explicit.start, 0x30);
  const hashOid = readTlv(certificateDer, hashAlgorithm.start, 0x06);
  return HASH_BY_DIGEST_OID[decodeOid(certificateDer.subarray(hashOid.start, hashOid.end))];
}

/**
 * The `tls-server-end-point` channel binding data (RFC 5929 section 4): the hash of the server's
 * DER certificate with {@link tlsServerEndPointHash}'s algorithm.
 * @throws {AuthenticationError} for a signature algorithm without a single hash (Ed25519, Ed448),
 * for which PostgreSQL cannot compute it either.
 * @example
 * tlsServerEndPoint(tlsSocket.getPeerCertificate().raw) // 32 bytes for a sha256WithRSAEncryption certificate
 */
export function tlsServerEndPoint(certificateDer: Buffer): Buffer {
  const hash = tlsServerEndPointHash(certificateDer);
  if (hash === undefined) {
    throw new AuthenticationError(`channel binding: no tls-server-end-point hash for the server certificate's signature algorithm ${signatureAlgorithmOid(certificateDer)}`);
  }
  return createHash(hash).update(certificateDer).digest();
}

/** Reads `Certificate.signatureAlgorithm.algorithm` (RFC 5280 section 4.1) from DER. */
export function signatureAlgorithmOid(der: Buffer): string {
  return signatureAlgorithm(der).oid;
}

function signatureAlgorithm(der: Buffer): { oid: string; parameters?: Tlv } {
  const cert = readTlv(der, 0, 0x30);
  const tbs = readTlv(der, cert.start, 0x30);
  const algorithm = readTlv(der, tbs.end, 0x30);
  const oid = readTlv(der, algorithm.start, 0x06);
  return { oid: decodeOid(der.subarray(oid.start, oid.end)), parameters: oid.end < algorithm.end ? { tag: -1, start: oid.end, end: algorithm.end } : undefined };
}
