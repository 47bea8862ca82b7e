// Serving certificate from files (a cert-manager Secret mounted into the pod, say), reloaded when
// they change. The kubelet swaps a mounted Secret through a symlink, so the directories are
// watched, and a slow poll catches anything a watch misses. A new pair is used only if the key
// matches the certificate; a half-written update is retried at the next event.
import { createHash } from 'node:crypto';
import { type FSWatcher, watch } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { createSecureContext } from 'node:tls';
import type { Logger } from 'pino';
import { type CertAndKey, pairMatches } from '../../runtime/pki.ts';

export interface FileCertificatesOptions {
  certFile: string;
  keyFile: string;
  pollIntervalMs: number;
  log: Logger;
  onServing: (pair: CertAndKey) => void;
  /** Called when changed files could not be used (the old pair stays). */
  onError?: (err: Error) => void;
}

export async function readPair(certFile: string, keyFile: string): Promise<CertAndKey> {
  const [cert, key] = await Promise.all([readFile(certFile, 'utf8'), readFile(keyFile, 'utf8')]);
  if (!pairMatches({ cert, key })) {
    throw new Error(`${certFile} and ${keyFile} are not a matching certificate and private key`);
  }
  createSecureContext({ cert, key }); // throws on anything OpenSSL would refuse later
  return { cert, key };
}

export class FileCertificates {
  #o: FileCertificatesOptions;
  #digest = '';
  #watchers: FSWatcher[] = [];
  #poll: NodeJS.Timeout | undefined;
  #debounce: NodeJS.Timeout | undefined;

  constructor(opts: FileCertificatesOptions) {
    this.#o = opts;
  }

  /** Reads the files; throws when they are missing or do not match. */
  async load(): Promise<CertAndKey> {
    const pair = await readPair(this.#o.certFile, this.#o.keyFile);
    this.#digest = digest(pair);
    this.#o.onServing(pair);
    return pair;
  }

  /** Loads the files again if their content changed. Resolves true when a new pair was taken. */
  async check(): Promise<boolean> {
    let pair: CertAndKey;
    try {
      const [cert, key] = await Promise.all([
        readFile(this.#o.certFile, 'utf8'),
        readFile(this.#o.keyFile, 'utf8'),
      ]);
      if (digest({ cert, key }) === this.#digest) return false;
      pair = await readPair(this.#o.certFile, this.#o.keyFile);
    } catch (err) {
      this.#o.log.warn(
        { err },
        'certificate files changed but cannot be used (yet); keeping the current pair',
      );
      this.#o.onError?.(err as Error);
      return false;
    }
    this.#digest = digest(pair);
    this.#o.onServing(pair);
    this.#o.log.info({ certFile: this.#o.certFile }, 'serving certificate reloaded from files');
    return true;
  }

  start(): void {
    const dirs = new Set([dirname(this.#o.certFile), dirname(this.#o.keyFile)]);
    for (const dir of dirs) {
      try {
        const w = watch(dir, { persistent: false }, () => this.#soon());
        w.on('error', () => undefined);
        this.#watchers.push(w);
      } catch (err) {
        this.#o.log.warn({ err, dir }, 'cannot watch certificate directory; relying on polling');
      }
    }
    this.#poll = setInterval(() => void this.check(), this.#o.pollIntervalMs);
    this.#poll.unref();
  }

  #soon(): void {
    // Files of one update arrive as several events; settle first.
    clearTimeout(this.#debounce);
    this.#debounce = setTimeout(() => void this.check(), 100);
    this.#debounce.unref();
  }

  stop(): void {
    for (const w of this.#watchers.splice(0)) w.close();
    clearInterval(this.#poll);
    clearTimeout(this.#debounce);
  }
}

function digest(pair: CertAndKey): string {
  return createHash('sha256').update(pair.cert).update('\u0000').update(pair.key).digest('hex');
}
