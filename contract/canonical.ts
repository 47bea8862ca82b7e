// Canonical JSON and the config's content hash. The operator and the data plane both use these,
// so a config's `version` means the same thing on both sides.

import { createHash, hash } from 'node:crypto';
import type { DataplaneConfig } from './types.ts';

/**
 * JSON with object keys sorted (by UTF-16 code units) at every level, no whitespace, and
 * `undefined` properties left out; arrays keep their order. Meant for plain JSON values.
 */
export function canonicalJson(value: unknown): string {
  // The native serialiser does the work. A value whose objects already have their keys in order
  // (the compiler builds them so) is serialised as it is; otherwise a sorted copy is.
  return JSON.stringify(isSorted(value) ? value : sortedCopy(value)) ?? 'null';
}

/** Whether every object in `value` has its keys in sorted order (checked without allocating). */
function isSorted(value: unknown): boolean {
  if (value === null || typeof value !== 'object') return true;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) if (!isSorted(value[i])) return false;
    return true;
  }
  let previous: string | undefined;
  const record = value as Record<string, unknown>;
  for (const key in record) {
    if (!Object.hasOwn(record, key)) return false;
    if (previous !== undefined && previous > key) return false;
    previous = key;
    if (!isSorted(record[key])) return false;
  }
  return true;
}

function sortedCopy(value: unknown): unknown {
  if (value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) return value.map(sortedCopy);
  const record = value as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(record).sort()) out[key] = sortedCopy(record[key]);
  return out;
}

/** `sha256:<hex>` of the canonical JSON of the config with `version` set to "". */
export function configVersion(config: Omit<DataplaneConfig, 'version'> | DataplaneConfig): string {
  // Spreading keeps an existing `version` key in its place, so a sorted config stays sorted.
  return sha256(canonicalJson({ ...config, version: '' }));
}

/**
 * configVersion for a config whose objects are known to have their keys in sorted order (the
 * compiler's output; its tests check that canonicalJson(config) === JSON.stringify(config)).
 * Skips the order check, which costs as much as serialising a large config.
 */
export function sortedConfigVersion(config: DataplaneConfig): string {
  if (config.version === '') return sha256(JSON.stringify(config));
  return sha256(JSON.stringify({ ...config, version: '' }));
}

function sha256(text: string): string {
  // One-shot hash: about twice as fast as createHash().update() on a large string.
  return `sha256:${hash('sha256', text)}`;
}

// Piecewise text. A config is mostly virtual hosts and backends that did not change since the last
// one: the operator's compiler hands back the same objects for them, and the data plane keeps the
// ones a patch does not replace. Their canonical text is kept per object, so serialising and
// hashing the next config costs a join and a hash instead of a walk over every route. Objects
// handed to these functions must not be mutated afterwards (both sides treat configs as frozen).

const pieceTexts = new WeakMap<object, string>();

/**
 * canonicalJson of one config piece (a virtual host, backend, certificate or default route), kept
 * per object. With `sorted`, the caller vouches that the piece's keys are in order (the compiler's
 * output) and the order check is skipped.
 */
export function pieceJson(piece: object, sorted = false): string {
  let text = pieceTexts.get(piece);
  if (text === undefined) {
    text = sorted ? JSON.stringify(piece) : canonicalJson(piece);
    pieceTexts.set(piece, text);
  }
  return text;
}

/** The keys of a record in canonical order (a record built in order is only checked, not sorted). */
function orderedKeys(record: Record<string, unknown>): string[] {
  const keys = Object.keys(record);
  for (let i = 1; i < keys.length; i++) {
    if (keys[i - 1] >= keys[i]) return keys.sort();
  }
  return keys;
}

function recordJson(record: Record<string, object>, sorted: boolean): string {
  const keys = orderedKeys(record);
  const parts: string[] = new Array(keys.length);
  for (let i = 0; i < keys.length; i++)
    parts[i] = `${JSON.stringify(keys[i])}:${pieceJson(record[keys[i]], sorted)}`;
  return `{${parts.join(',')}}`;
}

/** The config's canonical JSON around its `version` value: text = head + JSON(version) + tail. */
function configFrame(config: DataplaneConfig, sorted: boolean): { head: string; tail: string } {
  let head = `{"apiVersion":${JSON.stringify(config.apiVersion)},"backends":${recordJson(config.backends, sorted)},"certificates":${recordJson(config.certificates, sorted)}`;
  if (config.defaultCertificate !== undefined)
    head += `,"defaultCertificate":${JSON.stringify(config.defaultCertificate)}`;
  if (config.defaultRoute !== undefined) head += `,"defaultRoute":${pieceJson(config.defaultRoute, sorted)}`;
  head += ',"version":';
  const hosts = config.virtualHosts;
  const parts: string[] = new Array(hosts.length);
  for (let i = 0; i < hosts.length; i++) parts[i] = pieceJson(hosts[i], sorted);
  return { head, tail: `,"virtualHosts":[${parts.join(',')}]}` };
}

/**
 * The content hash and the canonical JSON of a config (with that hash as its `version`), from
 * cached piece texts: equal to configVersion(config) and canonicalJson({...config, version}).
 * `sorted` as for pieceJson.
 */
export function serializeConfig(config: DataplaneConfig, sorted = false): { version: string; text: string } {
  const { head, tail } = configFrame(config, sorted);
  const version = `sha256:${createHash('sha256').update(head).update('""').update(tail).digest('hex')}`;
  return { version, text: `${head}${JSON.stringify(version)}${tail}` };
}

/** pieceJson's text when it is cached, else canonicalJson(piece), without caching it. */
export function pieceTextOnce(piece: object): string {
  return pieceTexts.get(piece) ?? canonicalJson(piece);
}
