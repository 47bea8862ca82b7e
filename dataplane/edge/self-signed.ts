// A self-signed certificate for the HTTPS listener when no default certificate is configured
// (and for tests). ECDSA P-256, generated with @peculiar/x509 over WebCrypto.
// @peculiar/x509 resolves its algorithms through tsyringe, which needs the Reflect metadata API.
import 'reflect-metadata';
import { webcrypto } from 'node:crypto';
import { isIP } from 'node:net';
import * as x509 from '@peculiar/x509';

x509.cryptoProvider.set(webcrypto as never);

export interface SelfSignedOptions {
  commonName: string;
  /** DNS names (wildcards allowed) and IP addresses for the subjectAltName. */
  names?: string[];
  days?: number;
}

export interface CertificatePem {
  certPem: string;
  keyPem: string;
}

export async function selfSignedCertificate(opts: SelfSignedOptions): Promise<CertificatePem> {
  const alg = { name: 'ECDSA', namedCurve: 'P-256' } as const;
  const keys = (await webcrypto.subtle.generateKey(alg, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
  const names = opts.names ?? [opts.commonName];
  const serial = webcrypto.getRandomValues(new Uint8Array(16));
  serial[0] &= 0x7f;
  const now = Date.now();
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: Buffer.from(serial).toString('hex'),
    name: `CN=${opts.commonName.replace(/[,+="\\<>;]/g, '')}`,
    notBefore: new Date(now - 60_000),
    notAfter: new Date(now + (opts.days ?? 365) * 86_400_000),
    signingAlgorithm: { name: 'ECDSA', hash: 'SHA-256' },
    keys: keys as never,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
      new x509.SubjectAlternativeNameExtension(
        names.map((n) => (isIP(n) ? { type: 'ip' as const, value: n } : { type: 'dns' as const, value: n })),
      ),
    ],
  });
  const der = await webcrypto.subtle.exportKey('pkcs8', keys.privateKey);
  return {
    certPem: cert.toString('pem').replace(/\r\n/g, '\n') + '\n',
    keyPem: x509.PemConverter.encode(der, 'PRIVATE KEY').replace(/\r\n/g, '\n') + '\n',
  };
}
