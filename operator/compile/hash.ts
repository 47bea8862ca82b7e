// The content hash of a compiled config: hex sha256 of JSON.stringify(config) with `version` set to
// "" — the canonical JSON, since the compiler builds every object with its keys in sorted order
// (dataplane/api/canonical.ts defines the same hash for any config).
//
// The text is fed to the hash in pieces instead of as one string of many megabytes. The pieces
// are the entries of the top-level records and lists: a record with tens of thousands of keys
// (`backends`) is a hash table in V8, which JSON.stringify walks slowly, so its entries are
// serialised one by one. The result is byte for byte what JSON.stringify would give; the golden
// and property tests check it through validateConfig.

import { createHash, type Hash } from 'node:crypto';
import type { DataplaneConfig } from '../../dataplane/api/types.ts';

/** Text is handed to the hash in pieces of about this many characters. */
const PIECE = 1 << 16;

class HashWriter {
  private readonly hash: Hash = createHash('sha256');
  private pending = '';

  write(text: string): void {
    this.pending += text;
    if (this.pending.length >= PIECE) {
      this.hash.update(this.pending);
      this.pending = '';
    }
  }

  hex(): string {
    this.hash.update(this.pending);
    return this.hash.digest('hex');
  }
}

/** A list, or an object JSON.stringify writes key by key (no toJSON). */
function isContainer(value: unknown): value is Record<string, unknown> | unknown[] {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as { toJSON?: unknown }).toJSON !== 'function'
  );
}

/** JSON of a record or list, one entry at a time; JSON.stringify for everything inside. */
function writeContainer(out: HashWriter, value: Record<string, unknown> | unknown[]): void {
  if (Array.isArray(value)) {
    out.write('[');
    for (let i = 0; i < value.length; i++) {
      // As JSON.stringify: list entries that have no JSON are written as null.
      out.write(`${i > 0 ? ',' : ''}${JSON.stringify(value[i]) ?? 'null'}`);
    }
    out.write(']');
    return;
  }
  let separator = '{';
  for (const key of Object.keys(value)) {
    const text = JSON.stringify(value[key]);
    if (text === undefined) continue;
    out.write(`${separator}${JSON.stringify(key)}:${text}`);
    separator = ',';
  }
  out.write(separator === '{' ? '{}' : '}');
}

/** Hex sha256 of JSON.stringify({ ...config, version: '' }). */
export function canonicalHash(config: DataplaneConfig): string {
  const out = new HashWriter();
  const record = config as unknown as Record<string, unknown>;
  let separator = '{';
  for (const key of Object.keys(record)) {
    const value = key === 'version' ? '' : record[key];
    if (isContainer(value)) {
      out.write(`${separator}${JSON.stringify(key)}:`);
      writeContainer(out, value);
    } else {
      const text = JSON.stringify(value);
      if (text === undefined) continue;
      out.write(`${separator}${JSON.stringify(key)}:${text}`);
    }
    separator = ',';
  }
  out.write(separator === '{' ? '{}' : '}');
  return out.hex();
}
