// Assembles the data-plane config in canonical order and stamps its content hash.
//
// Every object the compiler emits is built with its keys in sorted order, so the config is its own
// canonical form (the golden and property tests check that canonicalJson(config) ===
// JSON.stringify(config)). Finished pieces (virtual hosts, backends, certificates, the default
// route) are never changed afterwards: a long-lived compiler hands the same objects to the next
// config, and their canonical text is cached by identity (contract/canonical.ts).

import { pieceJson, serializeConfig, sortedConfigVersion } from '../../../contract/canonical.ts';
import { ConfigText } from '../../../contract/config-text.ts';
import { compareRoutes } from '../../../contract/order.ts';
import { diffConfigs } from '../../../contract/patch.ts';
import {
  type Backend,
  type Certificate,
  CONFIG_API_VERSION,
  type DataplaneConfig,
  type DefaultRoute,
  type Route,
  type VirtualHost,
} from '../../../contract/types.ts';
import { compareStrings, sortInPlace } from '../core/objects.ts';
import { updateSorted } from '../core/tracking.ts';

export interface ConfigParts {
  /** Canonical order (compareHosts). */
  virtualHosts: VirtualHost[];
  defaultRoute?: DefaultRoute;
  /** Keys in canonical order. */
  backends: Record<string, Backend>;
  /** Keys in canonical order. */
  certificates: Record<string, Certificate>;
  defaultCertificate?: string;
}

const KIND_ORDER: Record<VirtualHost['kind'], number> = { exact: 0, wildcard: 1, any: 2 };

/**
 * An empty record for `size` keys. A large one starts in dictionary mode (deleting a property
 * does that): filled key by key from `{}`, V8 first makes a hidden class per key, which costs
 * about 1 µs a key when the keys are new strings (10 ms for 10,000 backends).
 */
export function emptyRecord<T>(size: number): Record<string, T> {
  if (size <= 64) return {};
  const record: Record<string, unknown> = { _: 0 };
  delete record._;
  return record as Record<string, T>;
}

/** The map as a record with its keys in canonical order (UTF-16 code units, the default sort). */
export function sortedRecord<T>(map: Map<string, T>): Record<string, T> {
  const out = emptyRecord<T>(map.size);
  for (const key of [...map.keys()].sort()) out[key] = map.get(key) as T;
  return out;
}

/** Sorts a new list of routes in place (before it is published). */
export function sortRoutes(routes: Route[]): Route[] {
  return sortInPlace(routes, compareRoutes);
}

/** Virtual host order: exact hosts, wildcard hosts, the any host; by name within each kind. */
export function compareHosts(
  a: { kind: VirtualHost['kind']; name: string },
  b: { kind: VirtualHost['kind']; name: string },
): number {
  return KIND_ORDER[a.kind] - KIND_ORDER[b.kind] || compareStrings(a.name, b.name);
}

function byKey(a: { readonly key: string }, b: { readonly key: string }): number {
  return a.key < b.key ? -1 : a.key > b.key ? 1 : 0;
}

/**
 * A large record (backends by key, statuses by Ingress) kept across compiles: its items stay in a
 * list sorted by key that small changes edit in place, and the previous record object is handed
 * out again unless a key or a value changed.
 */
export class SortedRecord<I extends { readonly key: string }> {
  private items: I[] = [];
  /** The record's keys, in order. */
  private keys: string[] = [];
  private record: Record<string, unknown> = {};
  private added: I[] = [];
  private readonly removed = new Set<I>();
  private changed = false;
  /** Whether two items had the same key at the last build (a malformed snapshot). */
  repeated = false;

  add(item: I): void {
    this.changed = true;
    if (!this.removed.delete(item)) this.added.push(item);
  }

  remove(item: I): void {
    this.changed = true;
    const at = this.added.indexOf(item);
    if (at >= 0) this.added.splice(at, 1);
    else this.removed.add(item);
  }

  /** A value changed. */
  touch(): void {
    this.changed = true;
  }

  get dirty(): boolean {
    return this.changed;
  }

  build<T>(value: (item: I) => T): Record<string, T> {
    if (!this.changed) return this.record as Record<string, T>;
    this.items = updateSorted(this.items, this.added, this.removed, byKey);
    this.added = [];
    this.removed.clear();
    this.changed = false;
    // An item replaced by another with the same key and value (an edit that changed nothing
    // here) leaves the record as it was: checking costs far less than building.
    if (this.same(value)) return this.record as Record<string, T>;
    const record = emptyRecord<T>(this.items.length);
    let last: string | undefined;
    this.repeated = false;
    const keys: string[] = new Array(this.items.length);
    for (let i = 0; i < this.items.length; i++) {
      const item = this.items[i];
      const key = item.key;
      if (key === last) this.repeated = true;
      record[key] = value(item);
      keys[i] = key;
      last = key;
    }
    this.keys = keys;
    this.record = record;
    return record;
  }

  private same<T>(value: (item: I) => T): boolean {
    const keys = this.keys;
    const items = this.items;
    if (keys.length !== items.length || keys.length === 0) return false;
    for (let i = 0; i < items.length; i++) {
      const key = keys[i];
      if (items[i].key !== key || value(items[i]) !== this.record[key]) return false;
    }
    return true;
  }
}

/** The content hash of a config whose pieces are all new: one serialisation of the whole. */
export const hashWhole: (config: DataplaneConfig) => string = sortedConfigVersion;

const sortedPieceText = (piece: object): string => pieceJson(piece, true);

/** Virtual hosts from which a long-lived compiler keeps its config's text (see ConfigHasher). */
export const SPLICE_FROM_HOSTS = 2000;

/**
 * Content hashes of a long-lived compiler's configs. A large config's text is kept as byte
 * slices (ConfigText): the next config is hashed from it with the changed pieces spliced in,
 * from the first changed byte on, rather than from every piece's text (a recompile at 10,000
 * Ingresses took 30 - 45 ms with it, 55 - 70 ms without). A small config is hashed from its
 * pieces' texts joined, which costs a few milliseconds and keeps no buffers (the kept text and
 * the ones it replaced are memory that only a full GC returns). Piece texts are cached per
 * object (pieceJson), so pushes reuse them.
 */
export class ConfigHasher {
  private text?: ConfigText;
  private last?: DataplaneConfig;
  private readonly spliceFrom: number;

  constructor(spliceFromHosts = SPLICE_FROM_HOSTS) {
    this.spliceFrom = spliceFromHosts;
  }

  readonly version = (config: DataplaneConfig): string => {
    if (config.virtualHosts.length < this.spliceFrom) {
      this.text = undefined;
      this.last = undefined;
      return serializeConfig(config, true).version;
    }
    const text =
      this.text && this.last
        ? this.text.patch(diffConfigs(this.last, config), config, sortedPieceText)
        : ConfigText.of(config, sortedPieceText);
    this.text = text;
    this.last = config;
    return text.version;
  };
}

/** The config with its content hash, as `hash` computes it (hashWhole or a ConfigHasher's). */
export function emitConfig(parts: ConfigParts, hash: (config: DataplaneConfig) => string): DataplaneConfig {
  const config = {
    apiVersion: CONFIG_API_VERSION,
    backends: parts.backends,
    certificates: parts.certificates,
  } as DataplaneConfig;
  if (parts.defaultCertificate !== undefined) config.defaultCertificate = parts.defaultCertificate;
  if (parts.defaultRoute !== undefined) config.defaultRoute = parts.defaultRoute;
  config.version = '';
  config.virtualHosts = parts.virtualHosts;
  config.version = hash(config);
  return config;
}
