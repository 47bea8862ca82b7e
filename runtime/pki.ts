// Certificates for the self-managed mode: an ECDSA P-256 CA and a serving certificate it signs,
// generated with @peculiar/x509 over WebCrypto and checked with node:crypto.
// @peculiar/x509 resolves its algorithms through tsyringe, which needs the Reflect metadata API.
import 'reflect-metadata';
import { createPrivateKey, webcrypto, X509Certificate } from 'node:crypto';
import { isIP } from 'node:net';
import * as x509 from '@peculiar/x509';

x509.cryptoProvider.set(webcrypto as never);

type Key = webcrypto.CryptoKey;
type KeyPair = webcrypto.CryptoKeyPair;

export interface CertAndKey {
  /** PEM certificate. */
  cert: string;
  /** PEM PKCS#8 private key. */
  key: string;
}

export interface Validity {
  notBefore: Date;
  notAfter: Date;
}

const EC = { name: 'ECDSA', namedCurve: 'P-256' } as const;
const SIGNING = { name: 'ECDSA', hash: 'SHA-256' } as const;

async function newKeys(): Promise<KeyPair> {
  return (await webcrypto.subtle.generateKey(EC, true, ['sign', 'verify'])) as KeyPair;
}

async function keyPem(key: Key): Promise<string> {
  const der = await webcrypto.subtle.exportKey('pkcs8', key);
  return x509.PemConverter.encode(der, 'PRIVATE KEY');
}

async function importSigningKey(pem: string): Promise<Key> {
  const der = createPrivateKey(pem).export({ type: 'pkcs8', format: 'der' });
  return webcrypto.subtle.importKey('pkcs8', der, EC, false, ['sign']);
}

function serial(): string {
  // 16 random bytes with the top bit clear: a positive serial, as RFC 5280 asks.
  const bytes = webcrypto.getRandomValues(new Uint8Array(16));
  bytes[0] &= 0x7f;
  return Buffer.from(bytes).toString('hex');
}

export async function generateCa(commonName: string, validity: Validity): Promise<CertAndKey> {
  const keys = await newKeys();
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serial(),
    name: `CN=${commonName}`,
    notBefore: validity.notBefore,
    notAfter: validity.notAfter,
    signingAlgorithm: SIGNING,
    keys,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(
        x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign | x509.KeyUsageFlags.digitalSignature,
        true,
      ),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  return { cert: cert.toString('pem'), key: await keyPem(keys.privateKey) };
}

export interface ServingNames {
  commonName: string;
  /** DNS names and IP addresses, mixed; IPs become IP SANs. */
  names: readonly string[];
}

export async function issueServing(
  ca: CertAndKey,
  names: ServingNames,
  validity: Validity,
): Promise<CertAndKey> {
  const keys = await newKeys();
  const caCert = new x509.X509Certificate(ca.cert);
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: serial(),
    subject: `CN=${names.commonName}`,
    issuer: caCert.subject,
    notBefore: validity.notBefore,
    notAfter: validity.notAfter,
    signingAlgorithm: SIGNING,
    publicKey: keys.publicKey,
    signingKey: await importSigningKey(ca.key),
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(
        x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment,
        true,
      ),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
      new x509.SubjectAlternativeNameExtension(
        names.names.map((n) =>
          isIP(n) ? { type: 'ip' as const, value: n } : { type: 'dns' as const, value: n },
        ),
      ),
      await x509.AuthorityKeyIdentifierExtension.create(caCert),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  return { cert: cert.toString('pem'), key: await keyPem(keys.privateKey) };
}

const PEM_BLOCK = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;

/** The certificates of a PEM bundle, each normalised to end with a newline. */
export function splitPem(bundle: string): string[] {
  return (bundle.match(PEM_BLOCK) ?? []).map((b) => `${b}\n`);
}

export function joinPem(certs: readonly string[]): string {
  return certs.map((c) => (c.endsWith('\n') ? c : `${c}\n`)).join('');
}

/** Parsed certificate, or undefined when the text is not one. */
export function parseCert(pem: string | undefined): X509Certificate | undefined {
  if (!pem) return undefined;
  try {
    return new X509Certificate(pem);
  } catch {
    return undefined;
  }
}

export function notAfter(cert: X509Certificate): Date {
  return new Date(cert.validTo);
}

export function notBefore(cert: X509Certificate): Date {
  return new Date(cert.validFrom);
}

/** The pair is usable: parses, the key belongs to the certificate. */
export function pairMatches(pair: Partial<CertAndKey> | undefined): boolean {
  const cert = parseCert(pair?.cert);
  if (!cert || !pair?.key) return false;
  try {
    return cert.checkPrivateKey(createPrivateKey(pair.key));
  } catch {
    return false;
  }
}

export function issuedBy(cert: X509Certificate, ca: X509Certificate): boolean {
  return cert.checkIssued(ca) && cert.verify(ca.publicKey);
}

/** Every wanted DNS name and IP address is in the certificate's SANs. */
export function coversNames(cert: X509Certificate, names: readonly string[]): boolean {
  return names.every((n) =>
    isIP(n)
      ? cert.checkIP(n) !== undefined
      : cert.checkHost(n, { wildcards: false, subject: 'never' }) !== undefined,
  );
}
