// Canonical JSON and the config's content hash. The operator and the data plane both use these,
// so a config's `version` means the same thing on both sides.

import { createHash } from 'node:crypto';
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
  return `sha256:${createHash('sha256').update(text).digest('hex')}`;
}
