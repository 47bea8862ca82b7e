// What changed between two snapshots, by object identity. Cached API objects are frozen and
// replaced, never edited, so an object seen in the previous snapshot is unchanged.
//
// The operator lists objects in a stable order (an edited object keeps its place, a new one is
// appended), so the lists are compared position by position, stepping over an insertion or a
// deletion; only a list whose order changed a lot is matched through a map.

export interface ListChanges<R> {
  added: R[];
  removed: R[];
}

/** More differences than this and the lists are matched by identity instead. */
const STEPS = 64;

/**
 * The objects of a snapshot list, each with a record of what was derived from it (one per
 * position, should a list name an object twice). Without `make`, the objects are their own records.
 */
export class TrackedList<R extends { raw: unknown } | object> {
  private list: readonly unknown[] = [];
  /** The record of each object of the last list, by position. */
  private records: R[] = [];
  private readonly make: (raw: unknown) => R;
  private readonly rawOf: (record: R) => unknown;

  constructor(make?: (raw: unknown) => R) {
    this.make = make ?? ((raw) => raw as R);
    this.rawOf = make ? (record) => (record as { raw: unknown }).raw : (record) => record;
  }

  /** Records of the last list, by position. */
  get current(): readonly R[] {
    return this.records;
  }

  /** Records for the objects new in `list` and for those it no longer holds (which are dropped). */
  update(list: readonly unknown[]): ListChanges<R> {
    const changes = this.walk(list) ?? this.match(list);
    this.list = list;
    return changes;
  }

  /** Position by position; undefined when the lists differ in more than a few places. */
  private walk(list: readonly unknown[]): ListChanges<R> | undefined {
    if (this.list.length === 0) {
      // The first list: all new.
      this.records = list.map((raw) => this.make(raw));
      return { added: this.records.slice(), removed: [] };
    }
    const before = this.list;
    const old = this.records;
    const n = list.length;
    const m = before.length;
    const records: R[] = new Array(n);
    /** Positions of objects not matched to the previous list. */
    const at: number[] = [];
    const removed: R[] = [];
    let i = 0;
    let j = 0;
    while (i < n && j < m) {
      if (list[i] === before[j]) {
        records[i++] = old[j++];
        continue;
      }
      if (at.length + removed.length >= STEPS) return undefined;
      if (j + 1 < m && list[i] === before[j + 1]) removed.push(old[j++]);
      else if (i + 1 < n && list[i + 1] === before[j]) at.push(i++);
      else {
        removed.push(old[j++]);
        at.push(i++);
      }
    }
    // A tail of new objects (or the first list) needs no map unless objects also went away.
    if (i < n && removed.length + m - j > 0 && at.length + n - i > STEPS) return undefined;
    while (j < m) removed.push(old[j++]);
    while (i < n) at.push(i++);
    // An object that moved shows up as removed and added: it keeps its record.
    let gone: Map<unknown, R> | undefined;
    if (at.length > 0 && removed.length > 0) {
      gone = new Map();
      for (const r of removed) gone.set(this.rawOf(r), r);
    }
    const added: R[] = [];
    for (const k of at) {
      const kept = gone?.get(list[k]);
      if (kept !== undefined) {
        gone!.delete(list[k]);
        records[k] = kept;
      } else {
        records[k] = this.make(list[k]);
        added.push(records[k]);
      }
    }
    this.records = records;
    return { added, removed: gone ? [...gone.values()] : removed };
  }

  /** By identity, through a map of the previous list. */
  private match(list: readonly unknown[]): ListChanges<R> {
    const gone = new Map<unknown, R>();
    for (let j = 0; j < this.list.length; j++) gone.set(this.list[j], this.records[j]);
    const records: R[] = new Array(list.length);
    const added: R[] = [];
    for (let i = 0; i < list.length; i++) {
      const kept = gone.get(list[i]);
      if (kept !== undefined) {
        gone.delete(list[i]);
        records[i] = kept;
      } else {
        records[i] = this.make(list[i]);
        added.push(records[i]);
      }
    }
    this.records = records;
    return { added, removed: [...gone.values()] };
  }

  /**
   * Lets a dropped record stand for the object of a new one (a replacement with the same content),
   * so whatever was derived from it is kept.
   */
  adopt(kept: R & { raw: unknown }, replaced: R & { raw: unknown }): void {
    kept.raw = replaced.raw;
    this.records[this.records.indexOf(replaced)] = kept;
  }
}

/**
 * A list kept in order under small changes: a few items are inserted by binary search, many at
 * once (the first compile) are appended and sorted. Without `compare`, items are strings in
 * UTF-16 code unit order (the native sort, which is faster than any comparator).
 */
export function updateSorted<T>(
  list: T[],
  added: readonly T[],
  removed: ReadonlySet<T> | undefined,
  compare?: (a: T, b: T) => number,
): T[] {
  let out = removed !== undefined && removed.size > 0 ? list.filter((item) => !removed.has(item)) : list;
  if (added.length === 0) return out;
  if (added.length > 32 || out.length === 0) {
    out = out.concat(added);
    return compare ? out.sort(compare) : out.sort();
  }
  if (out === list) out = list.slice();
  const order = compare ?? (byCodeUnits as (a: T, b: T) => number);
  for (const item of added) out.splice(sortedIndex(out, item, order), 0, item);
  return out;
}

function byCodeUnits(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Where `item` goes in the sorted `list`: after every item that does not sort after it. */
export function sortedIndex<T>(list: readonly T[], item: T, compare: (a: T, b: T) => number): number {
  let lo = 0;
  let hi = list.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (compare(list[mid], item) <= 0) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Deep equality of JSON-like values (Dates by time); key order is ignored. */
export function sameJson(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (a instanceof Date || b instanceof Date) {
    return a instanceof Date && b instanceof Date && a.getTime() === b.getTime();
  }
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (!sameJson(a[i], b[i])) return false;
    return true;
  }
  if (Array.isArray(b)) return false;
  const x = a as Record<string, unknown>;
  const y = b as Record<string, unknown>;
  let count = 0;
  for (const key in x) {
    if (!Object.hasOwn(x, key)) continue;
    if (!Object.hasOwn(y, key) || !sameJson(x[key], y[key])) return false;
    count++;
  }
  for (const key in y) if (Object.hasOwn(y, key)) count--;
  return count === 0;
}
