// Certificates chosen by SNI for one config version, plus a cache of TLS secure contexts across
// versions (building a context parses PEM and keys, far too slow to redo for every push).

import { createHash } from 'node:crypto';
import { createSecureContext, type SecureContext } from 'node:tls';
import type { Certificate } from '../../contract/types.ts';

export class SecureContextCache {
  readonly #byKey = new Map<string, { cert: Certificate; digest: string; context: SecureContext }>();

  /** A context for the certificate; throws a readable error for unusable PEM. */
  get(key: string, cert: Certificate): SecureContext {
    const hit = this.#byKey.get(key);
    // The same object again (a config piece, never mutated): no need to hash its PEM.
    if (hit !== undefined && hit.cert === cert) return hit.context;
    const digest = createHash('sha256').update(cert.certPem).update('\0').update(cert.keyPem).digest('hex');
    if (hit !== undefined && hit.digest === digest) {
      this.#byKey.set(key, { cert, digest, context: hit.context });
      return hit.context;
    }
    let context: SecureContext;
    try {
      context = createSecureContext({ cert: cert.certPem, key: cert.keyPem });
    } catch (err) {
      throw new Error(`certificate ${JSON.stringify(key)} is not usable: ${(err as Error).message}`);
    }
    this.#byKey.set(key, { cert, digest, context });
    return context;
  }

  /** Forgets certificates no longer in the applied config. */
  retain(keys: Set<string>): void {
    for (const key of this.#byKey.keys()) if (!keys.has(key)) this.#byKey.delete(key);
  }
}

export class SniIndex {
  readonly #exact = new Map<string, SecureContext>();
  readonly #wildcard = new Map<string, SecureContext>();
  readonly defaultContext: SecureContext | undefined;

  constructor(
    entries: Array<{ kind: 'exact' | 'wildcard' | 'any'; host: string; context: SecureContext }>,
    defaultContext: SecureContext | undefined,
  ) {
    for (const e of entries) {
      if (e.kind === 'exact' && !this.#exact.has(e.host)) this.#exact.set(e.host, e.context);
      if (e.kind === 'wildcard' && !this.#wildcard.has(e.host.slice(2))) {
        this.#wildcard.set(e.host.slice(2), e.context);
      }
    }
    this.defaultContext = defaultContext;
  }

  /** The context for a server name: exact host, then one-label wildcard, else the default. */
  lookup(servername: string | undefined): SecureContext | undefined {
    if (servername) {
      let name = servername.toLowerCase();
      if (name.endsWith('.')) name = name.slice(0, -1);
      const exact = this.#exact.get(name);
      if (exact !== undefined) return exact;
      const dot = name.indexOf('.');
      if (dot > 0) {
        const wild = this.#wildcard.get(name.slice(dot + 1));
        if (wild !== undefined) return wild;
      }
    }
    return this.defaultContext;
  }
}
