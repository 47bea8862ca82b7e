// Holds the applied config and its routing table. Applying validates (schema, references,
// content hash), compiles a new table, swaps one reference and retires the old table; a request
// already running keeps the table it started with. An invalid config changes nothing.

import type { SecureContext } from 'node:tls';
import type { DataplaneConfig } from '../api/types.ts';
import { validateConfig } from '../api/validate.ts';
import type { SecureContextCache } from '../edge/sni.ts';
import { ConfigError, compileTable, type RoutingTable } from '../routing/table.ts';
import type { UpstreamRegistry } from '../upstream/registry.ts';
import type { StateFile } from './state-file.ts';

export type ApplyResult =
  | { ok: true; changed: boolean; version: string; appliedAt: Date; persisted: boolean }
  | { ok: false; errors: string[] };

export interface ConfigStoreOptions {
  registry: UpstreamRegistry;
  contexts: SecureContextCache;
  fallbackContext: SecureContext | undefined;
  stateFile?: StateFile;
  onApplied?: (table: RoutingTable, seconds: number) => void;
  onRefused?: (result: 'unchanged' | 'invalid', errors: string[]) => void;
  onPersistError?: (err: Error) => void;
}

export class ConfigStore {
  #table: RoutingTable | undefined = undefined;
  readonly #opts: ConfigStoreOptions;

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

  /** Validates and applies; the swap itself is synchronous. Persists when a state file is set. */
  async apply(value: unknown): Promise<ApplyResult> {
    const started = performance.now();
    const result = validateConfig(value);
    if (!result.ok) {
      this.#opts.onRefused?.('invalid', result.errors);
      return result;
    }
    const config = result.config;
    const current = this.#table;
    if (current !== undefined && current.version === config.version) {
      this.#opts.onRefused?.('unchanged', []);
      return {
        ok: true,
        changed: false,
        version: current.version,
        appliedAt: current.appliedAt,
        persisted: true,
      };
    }
    let table: RoutingTable;
    try {
      table = compileTable(config, { ...this.#opts, previous: current });
    } catch (err) {
      const errors = err instanceof ConfigError ? err.errors : [String((err as Error).message)];
      this.#opts.onRefused?.('invalid', errors);
      return { ok: false, errors };
    }
    this.#table = table;
    current?.retire();
    this.#opts.contexts.retain(certificateKeys(config));
    this.#opts.onApplied?.(table, (performance.now() - started) / 1000);

    let persisted = false;
    if (this.#opts.stateFile !== undefined) {
      try {
        await this.#opts.stateFile.write(JSON.stringify(config));
        persisted = true;
      } catch (err) {
        this.#opts.onPersistError?.(err as Error);
      }
    }
    return { ok: true, changed: true, version: table.version, appliedAt: table.appliedAt, persisted };
  }

  /** Applies the config saved by an earlier run, if any. */
  async loadState(): Promise<ApplyResult | undefined> {
    const file = this.#opts.stateFile;
    if (file === undefined) return undefined;
    let saved: unknown;
    try {
      saved = await file.read();
    } catch (err) {
      return { ok: false, errors: [`state file ${file.path}: ${(err as Error).message}`] };
    }
    if (saved === undefined) return undefined;
    return this.apply(saved);
  }

  /** Stops routing new requests (shutdown); endpoints are freed as the last requests finish. */
  retire(): void {
    this.#table?.retire();
  }
}

function certificateKeys(config: DataplaneConfig): Set<string> {
  return new Set(Object.keys(config.certificates));
}
