// Holds the applied config and its routing table. Applying validates (schema, references,
// content hash), compiles a new table, swaps one reference and retires the old table; a request
// already running keeps the table it started with. An invalid config changes nothing.
//
// A config arrives whole (PUT) or as a patch against the applied version (PATCH). One validator
// sees both, so the pieces a patch keeps were validated when they first arrived, and the table is
// compiled from the previous one, so hosts the patch keeps keep their compiled entries.

import { createPrivateKey, type KeyObject, X509Certificate } from 'node:crypto';
import type { SecureContext } from 'node:tls';
import { serializeConfig } from '../../contract/canonical.ts';
import type { ConfigPatch } from '../../contract/patch.ts';
import type { Certificate, DataplaneConfig } from '../../contract/types.ts';
import { ConfigValidator } from '../../contract/validate.ts';
import type { SecureContextCache } from '../edge/sni.ts';
import { ConfigError, compileTable, type RoutingTable } from '../routing/table.ts';
import type { UpstreamRegistry } from '../upstream/registry.ts';
import type { StateFile } from './state-file.ts';

export type ApplyResult =
  | {
      ok: true;
      changed: boolean;
      version: string;
      appliedAt: Date;
      /** A state file is set and its writes succeed; this version is written in the background. */
      persisted: boolean;
    }
  | {
      ok: false;
      reason: 'invalid';
      errors: string[];
      /** A refused saved config: where the state file was moved (loadState). */
      setAside?: string;
    }
  /** A patch whose base is not the applied version (`version`, null when none is applied). */
  | { ok: false; reason: 'base mismatch'; version: string | null; errors: string[] };

export type PatchOutcome = 'applied' | 'unchanged' | 'base_mismatch' | 'invalid';

export interface ConfigStoreOptions {
  registry: UpstreamRegistry;
  contexts: SecureContextCache;
  fallbackContext: SecureContext | undefined;
  stateFile?: StateFile;
  onApplied?: (table: RoutingTable, seconds: number, how: 'put' | 'patch') => void;
  /** A whole config that was not applied. */
  onRefused?: (result: 'unchanged' | 'invalid', errors: string[]) => void;
  /** Every patch, by outcome. */
  onPatch?: (outcome: PatchOutcome, errors: string[]) => void;
  onPersistError?: (err: Error) => void;
  /** Compiling a validated config failed for a reason other than its content (a bug): the error itself. */
  onCompileError?: (err: Error) => void;
}

/** State-file writes go out in chunks of about this size (no 14 MiB string at once). */
const STATE_CHUNK_BYTES = 1 << 20;

export class ConfigStore {
  #table: RoutingTable | undefined = undefined;
  readonly #opts: ConfigStoreOptions;
  readonly #validator = new ConfigValidator();
  #persistFailed = false;

  constructor(opts: ConfigStoreOptions) {
    this.#opts = opts;
  }

  /** The table new requests are routed by; undefined until a config is applied. */
  get table(): RoutingTable | undefined {
    return this.#table;
  }

  get config(): DataplaneConfig | undefined {
    return this.#table?.config;
  }

  /** Validates and applies a whole config; synchronous up to the swap, the state file is written later. */
  apply(value: unknown): ApplyResult {
    const started = performance.now();
    const result = this.#validator.config(value);
    if (!result.ok) {
      this.#opts.onRefused?.('invalid', result.errors);
      return { ok: false, reason: 'invalid', errors: result.errors };
    }
    const current = this.#table;
    if (current !== undefined && current.version === result.config.version) {
      this.#opts.onRefused?.('unchanged', []);
      return this.#unchanged(current);
    }
    const applied = this.#install(result.config, started, 'put', undefined);
    if (!applied.ok) this.#opts.onRefused?.('invalid', applied.errors);
    return applied;
  }

  /**
   * Applies a ConfigPatch (from the wire) to the applied config: refused as a base mismatch unless
   * its base is the applied version, then validated, applied and checked against its content hash.
   */
  patch(value: unknown): ApplyResult {
    const started = performance.now();
    const current = this.#table;
    const claim = isRecord(value) ? value : {};
    if (current === undefined || (typeof claim.base === 'string' && claim.base !== current.version)) {
      const version = current?.version ?? null;
      const errors = [`base: the applied version is ${version ?? 'none'}`];
      this.#opts.onPatch?.('base_mismatch', errors);
      return { ok: false, reason: 'base mismatch', version, errors };
    }
    if (claim.base === current.version && claim.version === current.version) {
      this.#opts.onPatch?.('unchanged', []);
      return this.#unchanged(current);
    }
    const result = this.#validator.patch(current.config, value);
    if (!result.ok) {
      this.#opts.onPatch?.('invalid', result.errors);
      return { ok: false, reason: 'invalid', errors: result.errors };
    }
    const patch = value as ConfigPatch;
    const applied = this.#install(result.config, started, 'patch', [
      ...Object.keys(patch.backends.set),
      ...patch.backends.remove,
    ]);
    this.#opts.onPatch?.(applied.ok ? 'applied' : 'invalid', applied.ok ? [] : applied.errors);
    return applied;
  }

  #unchanged(current: RoutingTable): ApplyResult {
    return {
      ok: true,
      changed: false,
      version: current.version,
      appliedAt: current.appliedAt,
      persisted: this.#persisted,
    };
  }

  get #persisted(): boolean {
    return this.#opts.stateFile !== undefined && !this.#persistFailed;
  }

  /** `changedBackends`: the keys a patch set or removed (undefined: any may have changed). */
  #install(
    config: DataplaneConfig,
    started: number,
    how: 'put' | 'patch',
    changedBackends: string[] | undefined,
  ): ApplyResult {
    const current = this.#table;
    let table: RoutingTable;
    try {
      table = compileTable(config, { ...this.#opts, previous: current, changedBackends });
    } catch (err) {
      if (err instanceof ConfigError)
        return { ok: false, reason: 'invalid', errors: publicErrors(config, err) };
      // Not the sender's fault and no text of it for the sender: the log has the error.
      this.#opts.onCompileError?.(err as Error);
      return {
        ok: false,
        reason: 'invalid',
        errors: ['config: could not be compiled (see the data plane log)'],
      };
    }
    this.#table = table;
    current?.retire();
    // Forget contexts of certificates that went away (an unchanged record is the same object).
    if (current?.config.certificates !== config.certificates) {
      this.#opts.contexts.retain(new Set(Object.keys(config.certificates)));
    }
    this.#opts.onApplied?.(table, (performance.now() - started) / 1000, how);
    this.#persist(config);
    return {
      ok: true,
      changed: true,
      version: table.version,
      appliedAt: table.appliedAt,
      persisted: this.#persisted,
    };
  }

  #persist(config: DataplaneConfig): void {
    const file = this.#opts.stateFile;
    if (file === undefined) return;
    const text = this.#validator.textOf(config);
    // The validator keeps the canonical text of what it accepted: written as it is, slice by slice.
    file
      .save(() => (text !== undefined ? stateChunks(text.chunks()) : [serializeConfig(config).text]))
      .then(
        () => {
          this.#persistFailed = false;
        },
        (err: Error) => {
          this.#persistFailed = true;
          this.#opts.onPersistError?.(err);
        },
      );
  }

  /** Resolves once the newest applied config is on disk (or its write failed). */
  async flushState(): Promise<void> {
    await this.#opts.stateFile?.flush();
  }

  /**
   * Applies the config saved by an earlier run, if any. A saved config that is refused (not JSON,
   * not valid under this version's schema, not compilable) is never served: the file is set aside
   * (`StateFile.setAside`) so the next start does not load it again, and the replica waits for the
   * operator's next push.
   */
  async loadState(): Promise<ApplyResult | undefined> {
    const file = this.#opts.stateFile;
    if (file === undefined) return undefined;
    let saved: unknown;
    let result: ApplyResult;
    try {
      saved = await file.read();
      if (saved === undefined) return undefined;
      result = this.apply(saved);
    } catch (err) {
      if (!(err instanceof SyntaxError)) {
        // Unreadable (permissions, I/O): left where it is, nothing is served from it.
        return {
          ok: false,
          reason: 'invalid',
          errors: [`state file ${file.path}: ${(err as Error).message}`],
        };
      }
      result = { ok: false, reason: 'invalid', errors: ['state file: not valid JSON'] };
    }
    if (result.ok || result.reason !== 'invalid') return result;
    try {
      return { ...result, setAside: await file.setAside() };
    } catch (err) {
      const why = (err as NodeJS.ErrnoException).code ?? 'error';
      return {
        ...result,
        errors: [...result.errors, `state file ${file.path}: could not be set aside (${why})`],
      };
    }
  }

  /** Stops routing new requests (shutdown); endpoints are freed as the last requests finish. */
  retire(): void {
    this.#table?.retire();
  }
}

/**
 * A compile error as the sender sees it: certificates that do not load are named by field and
 * problem, without the TLS library's own text (logs and answers leave the process).
 */
function publicErrors(config: DataplaneConfig, err: ConfigError): string[] {
  return err.errors.map((message) => {
    // SecureContextCache: `certificate "<key>" is not usable: <library text>`; keys hold no quotes.
    const m = /^certificate "([^"\\]*)" is not usable/.exec(message);
    if (m === null || !Object.hasOwn(config.certificates, m[1])) return message;
    return certificateProblem(m[1], config.certificates[m[1]]);
  });
}

/** Which half of a certificate that did not load is wrong, by field. */
export function certificateProblem(key: string, cert: Certificate): string {
  const where = `certificates[${JSON.stringify(key)}]`;
  let x509: X509Certificate;
  try {
    x509 = new X509Certificate(cert.certPem);
  } catch {
    return `${where}.certPem: not a valid certificate`;
  }
  let privateKey: KeyObject;
  try {
    privateKey = createPrivateKey(cert.keyPem);
  } catch {
    return `${where}.keyPem: not a valid private key (PEM, unencrypted)`;
  }
  if (!x509.checkPrivateKey(privateKey)) return `${where}.keyPem: does not match the certificate`;
  return `${where}: the certificate and key cannot be used for TLS`;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Slices grouped into chunks of about STATE_CHUNK_BYTES for writing. */
function* stateChunks(slices: Buffer[]): Generator<Buffer> {
  let group: Buffer[] = [];
  let size = 0;
  for (const slice of slices) {
    group.push(slice);
    size += slice.length;
    if (size >= STATE_CHUNK_BYTES) {
      yield group.length === 1 ? slice : Buffer.concat(group, size);
      group = [];
      size = 0;
    }
  }
  if (size > 0) yield Buffer.concat(group, size);
}
