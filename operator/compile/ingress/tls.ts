// TLS Secrets: `tls.crt` and `tls.key` from a Secret in the Ingress's own namespace, re-emitted as
// clean PEM (LF line ends, 64-column base64, nothing between blocks) after node:crypto has parsed
// both and confirmed that the key belongs to the certificate. Nothing here does I/O.

import { createPrivateKey, X509Certificate } from 'node:crypto';
import type { V1Secret } from '@kubernetes/client-node';
import { limits } from '../../../contract/schema.ts';
import type { Certificate } from '../../../contract/types.ts';
import { isRecord, readMeta, stringMap } from '../core/objects.ts';

export type CertificateResult =
  | { ok: true; certificate: Certificate }
  | { ok: false; reason: 'SecretNotFound' | 'SecretInvalid'; message: string };

const BLOCK = /-----BEGIN ([A-Z0-9 ]{1,40})-----([^-]*)-----END \1-----/g;
const KEY_LABELS = new Set(['PRIVATE KEY', 'RSA PRIVATE KEY', 'EC PRIVATE KEY']);

/** The PEM blocks with the given labels, re-wrapped; undefined if none or one is malformed. */
export function cleanPem(text: string, labels: (label: string) => boolean): string[] | undefined {
  const blocks: string[] = [];
  for (const m of text.matchAll(BLOCK)) {
    if (!labels(m[1])) continue;
    const body = m[2].replace(/[\r\n\t ]/g, '');
    if (body === '' || !/^[A-Za-z0-9+/]+={0,2}$/.test(body)) return undefined;
    const lines = body.match(/.{1,64}/g) ?? [];
    blocks.push(`-----BEGIN ${m[1]}-----\n${lines.join('\n')}\n-----END ${m[1]}-----\n`);
  }
  return blocks.length > 0 ? blocks : undefined;
}

function decodeBase64(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  const compact = value.replace(/[\r\n]/g, '');
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(compact)) return undefined;
  return Buffer.from(compact, 'base64').toString('latin1');
}

export function certificateFromSecret(secret: unknown, key: string): CertificateResult {
  const invalid = (why: string): CertificateResult => ({
    ok: false,
    reason: 'SecretInvalid',
    message: `TLS Secret ${key} ${why}`,
  });
  if (!isRecord(secret)) return invalid('is not an object');
  const data = stringMap(secret.data);
  const crt = decodeBase64(data['tls.crt']);
  const pemKey = decodeBase64(data['tls.key']);
  if (crt === undefined || pemKey === undefined) return invalid('needs base64 keys "tls.crt" and "tls.key"');
  if (crt.length > limits.pemChars || pemKey.length > limits.pemChars) {
    return invalid(`has a tls.crt or tls.key larger than ${limits.pemChars} bytes`);
  }
  const certs = cleanPem(crt, (label) => label === 'CERTIFICATE');
  if (!certs) return invalid('has no PEM certificate in "tls.crt"');
  const keys = cleanPem(pemKey, (label) => KEY_LABELS.has(label));
  if (keys?.length !== 1) return invalid('needs exactly one unencrypted PEM private key in "tls.key"');
  const certPem = certs.join('');
  const keyPem = keys[0];
  try {
    const leaf = new X509Certificate(certs[0]);
    const privateKey = createPrivateKey(keyPem);
    if (!leaf.checkPrivateKey(privateKey))
      return invalid('has a private key that does not match its certificate');
    for (const extra of certs.slice(1)) new X509Certificate(extra);
  } catch {
    return invalid('has a certificate or private key that cannot be parsed');
  }
  return { ok: true, certificate: { certPem, keyPem } };
}

/**
 * TLS Secrets by `<namespace>/<name>`. Each is parsed once and the result kept until the Secret
 * changes (a long-lived index follows snapshots with add and remove).
 */
export class SecretIndex {
  /** Secret objects by key, in the order added; one unless a snapshot repeats a name (the last wins). */
  private readonly secrets = new Map<string, unknown[]>();
  private readonly loaded = new Map<string, CertificateResult>();
  /** Names filed more than once. */
  duplicates = 0;
  /** Since beginChanges: keys whose Secret was added or removed. */
  readonly changed = new Set<string>();

  constructor(secrets: readonly V1Secret[] | undefined) {
    for (const secret of Array.isArray(secrets) ? secrets : []) this.add(secret);
  }

  beginChanges(): void {
    this.changed.clear();
  }

  add(secret: unknown): void {
    const meta = readMeta(secret);
    if (!meta) return;
    const list = this.secrets.get(meta.key);
    if (list) {
      list.push(secret);
      if (list.length === 2) this.duplicates++;
    } else this.secrets.set(meta.key, [secret]);
    this.loaded.delete(meta.key);
    this.changed.add(meta.key);
  }

  remove(secret: unknown): void {
    const meta = readMeta(secret);
    const list = meta && this.secrets.get(meta.key);
    const at = list ? list.indexOf(secret) : -1;
    if (!meta || !list || at < 0) return;
    list.splice(at, 1);
    if (list.length === 1) this.duplicates--;
    if (list.length === 0) this.secrets.delete(meta.key);
    this.loaded.delete(meta.key);
    this.changed.add(meta.key);
  }

  /** The Secret object filed under `key` (the last one when repeated), for other readers of Secrets. */
  get(key: string): unknown {
    const list = this.secrets.get(key);
    return list?.[list.length - 1];
  }

  load(key: string): CertificateResult {
    const cached = this.loaded.get(key);
    if (cached) return cached;
    const list = this.secrets.get(key);
    const secret = list?.[list.length - 1];
    const result: CertificateResult =
      secret === undefined
        ? { ok: false, reason: 'SecretNotFound', message: `TLS Secret ${key} not found` }
        : certificateFromSecret(secret, key);
    this.loaded.set(key, result);
    return result;
  }
}
