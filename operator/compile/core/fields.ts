// Compares two versions of an object on the fields a declaration names.

import type { Reads } from './processor.ts';
import { sameJson } from './tracking.ts';

function field(obj: unknown, path: readonly string[]): unknown {
  let value = obj;
  for (const key of path) {
    if (typeof value !== 'object' || value === null) return undefined;
    value = (value as Record<string, unknown>)[key];
  }
  return value;
}

function withoutIgnored(annotations: unknown, ignored: readonly string[]): unknown {
  if (typeof annotations !== 'object' || annotations === null) return annotations;
  if (!ignored.some((k) => Object.hasOwn(annotations, k))) return annotations;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(annotations)) if (!ignored.includes(k)) out[k] = v;
  return out;
}

/** A compiled form of `Reads`: the paths split once. */
export interface FieldSet {
  paths: ReadonlyArray<readonly string[]>;
  ignoredAnnotations: readonly string[];
}

export function fieldSet(reads: readonly Reads[]): FieldSet {
  const fields = new Set<string>();
  const ignored = new Set<string>();
  for (const r of reads) {
    for (const f of r.fields) fields.add(f);
    for (const a of r.ignoredAnnotations ?? []) ignored.add(a);
  }
  return { paths: [...fields].sort().map((f) => f.split('.')), ignoredAnnotations: [...ignored] };
}

/** Whether two versions are equal on every field of the set. */
export function sameFields(set: FieldSet, a: unknown, b: unknown): boolean {
  for (const path of set.paths) {
    let x = field(a, path);
    let y = field(b, path);
    if (path.length === 2 && path[0] === 'metadata' && path[1] === 'annotations') {
      x = withoutIgnored(x, set.ignoredAnnotations);
      y = withoutIgnored(y, set.ignoredAnnotations);
    }
    if (!sameJson(x, y)) return false;
  }
  return true;
}
