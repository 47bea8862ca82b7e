// A config's canonical text as bytes, laid out so that the text and content hash of a patched
// config cost what the patch changes rather than the whole config. At 10,000 Ingresses the text
// is 14 MiB: re-hashing it (or even walking 30,000 cached piece texts) for every patch would cost
// more than everything else a patch does.
//
// The text is kept as a few ropes (lists of byte slices), one per record (backends, certificates)
// and one for the virtual hosts, with the byte offset of every entry, plus snapshots of the hash
// state every CHECKPOINT_BYTES. A patch splices new entries into the ropes (old bytes are shared,
// not copied) and hashes only from the checkpoint before its first change to the end; SHA-256
// cannot skip anything after a change. The bytes are those of serializeConfig(config).text, and
// `version` that of configVersion(config).

import { createHash, type Hash } from 'node:crypto';
import { pieceTextOnce } from './canonical.ts';
import { hostKind, hostSortKey } from './order.ts';
import type { ConfigPatch } from './patch.ts';
import { CONFIG_API_VERSION, type DataplaneConfig } from './types.ts';

/** Hash state is kept at about every this many bytes. */
const CHECKPOINT_BYTES = 1 << 20;
/** A rope with more slices than this is copied into one buffer. */
const MAX_SLICES = 48;

const COMMA = Buffer.from(',');
const HEAD = Buffer.from(`{"apiVersion":${JSON.stringify(CONFIG_API_VERSION)},"backends":{`);
const BETWEEN = Buffer.from('},"certificates":{');
const EMPTY_VERSION = Buffer.from('""');
const HOSTS = Buffer.from(',"virtualHosts":[');
const TAIL = Buffer.from(']}');

/** Bytes as slices of larger buffers; `starts[i]` is the offset of `slices[i]`. */
class Rope {
  readonly slices: Buffer[];
  readonly starts: number[];
  readonly length: number;

  constructor(slices: Buffer[]) {
    this.slices = [];
    this.starts = [];
    let at = 0;
    for (const s of slices) {
      if (s.length === 0) continue;
      this.slices.push(s);
      this.starts.push(at);
      at += s.length;
    }
    this.length = at;
  }

  /** Pushes slices covering bytes [from, to) onto `out`. */
  copyTo(from: number, to: number, out: Buffer[]): void {
    if (from >= to) return;
    let i = upperBound(this.starts, from) - 1;
    while (from < to) {
      const start = this.starts[i];
      const slice = this.slices[i];
      const end = Math.min(to - start, slice.length);
      out.push(slice.subarray(from - start, end));
      from = start + end;
      i++;
    }
  }

  compacted(): Rope {
    return this.slices.length <= MAX_SLICES ? this : new Rope([Buffer.concat(this.slices, this.length)]);
  }
}

/**
 * Sorted entries joined by commas: a record's `"key":{...}` entries or the virtual hosts.
 * `offsets[i]` is where entry i starts, its separating comma included (entries after the first).
 */
interface Section {
  keys: string[];
  offsets: Float64Array;
  rope: Rope;
}

function buildSection(keys: string[], texts: string[]): Section {
  const joined = texts.join(',');
  const bytes = Buffer.from(joined);
  const offsets = new Float64Array(keys.length);
  let at = 0;
  // Config strings are ASCII (the schema allows nothing else), so characters are bytes; checked.
  const ascii = bytes.length === joined.length;
  for (let i = 0; i < texts.length; i++) {
    offsets[i] = at; // the separating comma, or 0 for the first entry
    at += (ascii ? texts[i].length : Buffer.byteLength(texts[i])) + (i === 0 ? 0 : 1);
  }
  return { keys, offsets, rope: new Rope([bytes]) };
}

/** A section change: entries set (new text, no comma) by key, keys removed. Set wins over remove. */
type Changes = Map<string, string | null>;

/**
 * The section with the changes applied, and the offset of its first changed byte (-1: none).
 * Kept entries are copied as slices of the old rope, runs at a time.
 */
function patchSection(old: Section, changes: Changes): { section: Section; firstChange: number } {
  const order = [...changes.keys()].sort(compareKeys);
  const slices: Buffer[] = [];
  const keys: string[] = [];
  // Where each new entry starts: a run of old entries (shifted) or one new entry.
  const runs: Array<{ from: number; to: number; first: number; shift: number }> = [];
  let out = 0;
  let pos = 0;
  let firstChange = -1;
  const n = old.keys.length;
  const entryEnd = (i: number) => (i + 1 < n ? old.offsets[i + 1] : old.rope.length);
  const emitOld = (from: number, to: number) => {
    if (from >= to) return;
    // Each entry but the first is preceded by a comma: the run's first entry has one in the old
    // text unless it came first there, and needs one unless it comes first now.
    const oldStart = old.offsets[from] + (from > 0 ? 1 : 0);
    const first = out;
    if (keys.length > 0) {
      slices.push(COMMA);
      out++;
    }
    runs.push({ from, to, first, shift: out - oldStart });
    old.rope.copyTo(oldStart, entryEnd(to - 1), slices);
    out += entryEnd(to - 1) - oldStart;
    for (let i = from; i < to; i++) keys.push(old.keys[i]);
  };
  for (const key of order) {
    const i = lowerBound(old.keys, key);
    const exists = i < n && old.keys[i] === key;
    const text = changes.get(key);
    if (!exists && text === null) continue; // removing what is not there
    if (firstChange < 0) firstChange = i < n ? old.offsets[i] : old.rope.length;
    emitOld(pos, i);
    pos = exists ? i + 1 : i;
    if (text === null || text === undefined) continue;
    const bytes = Buffer.from(keys.length > 0 ? `,${text}` : text);
    runs.push({ from: 0, to: 0, first: out, shift: 0 });
    slices.push(bytes);
    out += bytes.length;
    keys.push(key);
  }
  if (firstChange < 0) return { section: old, firstChange };
  emitOld(pos, n);
  const offsets = new Float64Array(keys.length);
  let k = 0;
  for (const run of runs) {
    offsets[k++] = run.first;
    for (let i = run.from + 1; i < run.to; i++) offsets[k++] = old.offsets[i] + run.shift;
  }
  return { section: { keys, offsets, rope: new Rope(slices).compacted() }, firstChange };
}

function compareKeys(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** First index whose key is not below `key`. */
function lowerBound(keys: string[], key: string): number {
  let lo = 0;
  let hi = keys.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (keys[mid] < key) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** First index whose value is above `value`. */
function upperBound(values: number[], value: number): number {
  let lo = 0;
  let hi = values.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (values[mid] <= value) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** The text between the certificates and the version: `}`, default certificate and route. */
function defaultsPart(
  config: Pick<DataplaneConfig, 'defaultCertificate' | 'defaultRoute'>,
  text: (piece: object) => string,
): Buffer {
  let part = '}';
  if (config.defaultCertificate !== undefined)
    part += `,"defaultCertificate":${JSON.stringify(config.defaultCertificate)}`;
  if (config.defaultRoute !== undefined) part += `,"defaultRoute":${text(config.defaultRoute)}`;
  return Buffer.from(`${part},"version":`);
}

interface Checkpoint {
  offset: number;
  hash: Hash;
}

export class ConfigText {
  /** configVersion of the config: sha256 of the text with `""` as its version. */
  readonly version: string;
  readonly #backends: Section;
  readonly #certificates: Section;
  readonly #defaults: Buffer;
  readonly #hosts: Section;
  readonly #checkpoints: Checkpoint[];

  private constructor(
    parts: { backends: Section; certificates: Section; defaults: Buffer; hosts: Section },
    checkpoints: Checkpoint[],
    firstChange: number,
  ) {
    this.#backends = parts.backends;
    this.#certificates = parts.certificates;
    this.#defaults = parts.defaults;
    this.#hosts = parts.hosts;
    // Hash from the last checkpoint at or before the first change, keeping checkpoints up to it.
    let keep = upperBound(
      checkpoints.map((c) => c.offset),
      firstChange,
    );
    if (keep === 0) keep = 1;
    this.#checkpoints = checkpoints.slice(0, keep);
    const from = this.#checkpoints[keep - 1];
    const hash = from.hash.copy();
    let next = from.offset + CHECKPOINT_BYTES;
    this.#visit(from.offset, (slice, at) => {
      while (at + slice.length > next) {
        const cut = next - at;
        hash.update(slice.subarray(0, cut));
        this.#checkpoints.push({ offset: next, hash: hash.copy() });
        slice = slice.subarray(cut);
        at = next;
        next += CHECKPOINT_BYTES;
      }
      if (slice.length > 0) hash.update(slice);
    });
    this.version = `sha256:${hash.digest('hex')}`;
  }

  /**
   * The text of a whole config. `text` gives a piece's canonical JSON (default pieceTextOnce; the
   * operator's compiler passes one that caches, so its pushes reuse the texts).
   */
  static of(config: DataplaneConfig, text: (piece: object) => string = pieceTextOnce): ConfigText {
    const record = (entries: Record<string, object>): Section => {
      const keys = Object.keys(entries);
      let sorted = true;
      for (let i = 1; i < keys.length && sorted; i++) sorted = keys[i - 1] < keys[i];
      if (!sorted) keys.sort();
      return buildSection(
        keys,
        keys.map((k) => `${JSON.stringify(k)}:${text(entries[k])}`),
      );
    };
    const hosts = config.virtualHosts;
    return new ConfigText(
      {
        backends: record(config.backends),
        certificates: record(config.certificates),
        defaults: defaultsPart(config, text),
        hosts: buildSection(hosts.map(hostSortKey), hosts.map(text)),
      },
      [{ offset: 0, hash: createHash('sha256') }],
      0,
    );
  }

  /**
   * The text of `patch` applied to this text's config (what applyPatch gives), hashed from the
   * first change on. The patch is schema-valid; this text's version is its base. `text` as for of().
   */
  patch(
    patch: ConfigPatch,
    result: Pick<DataplaneConfig, 'defaultCertificate' | 'defaultRoute'>,
    text: (piece: object) => string = pieceTextOnce,
  ): ConfigText {
    const recordChanges = (change: { set: Record<string, object>; remove: string[] }): Changes => {
      const changes: Changes = new Map();
      for (const key of change.remove) changes.set(key, null);
      for (const key of Object.keys(change.set)) {
        changes.set(key, `${JSON.stringify(key)}:${text(change.set[key])}`);
      }
      return changes;
    };
    const hostChanges: Changes = new Map();
    for (const host of patch.virtualHosts.remove) {
      hostChanges.set(hostSortKey({ kind: hostKind(host), host }), null);
    }
    for (const vh of patch.virtualHosts.set) hostChanges.set(hostSortKey(vh), text(vh));

    let first = Number.POSITIVE_INFINITY;
    const note = (base: number, change: number) => {
      if (change >= 0) first = Math.min(first, base + change);
    };
    const b = patchSection(this.#backends, recordChanges(patch.backends));
    note(HEAD.length, b.firstChange);
    const c = patchSection(this.#certificates, recordChanges(patch.certificates));
    note(HEAD.length + b.section.rope.length + BETWEEN.length, c.firstChange);
    const defaults =
      patch.defaultRoute !== undefined || patch.defaultCertificate !== undefined
        ? defaultsPart(result, text)
        : this.#defaults;
    const defaultsAt = HEAD.length + b.section.rope.length + BETWEEN.length + c.section.rope.length;
    if (!defaults.equals(this.#defaults)) note(defaultsAt, 0);
    const h = patchSection(this.#hosts, hostChanges);
    note(defaultsAt + defaults.length + EMPTY_VERSION.length + HOSTS.length, h.firstChange);
    return new ConfigText(
      { backends: b.section, certificates: c.section, defaults, hosts: h.section },
      this.#checkpoints,
      first === Number.POSITIVE_INFINITY ? this.length : first,
    );
  }

  /** Bytes of the text with `""` as the version. */
  get length(): number {
    return (
      HEAD.length +
      this.#backends.rope.length +
      BETWEEN.length +
      this.#certificates.rope.length +
      this.#defaults.length +
      EMPTY_VERSION.length +
      HOSTS.length +
      this.#hosts.rope.length +
      TAIL.length
    );
  }

  /** The text with `""` as version, slice by slice with their offsets, from offset `from` on. */
  #visit(from: number, visit: (slice: Buffer, at: number) => void): void {
    let at = 0;
    const one = (slice: Buffer) => {
      const end = at + slice.length;
      if (end > from) visit(at >= from ? slice : slice.subarray(from - at), Math.max(at, from));
      at = end;
    };
    const rope = (r: Rope) => {
      if (at + r.length <= from) at += r.length;
      else for (const s of r.slices) one(s);
    };
    one(HEAD);
    rope(this.#backends.rope);
    one(BETWEEN);
    rope(this.#certificates.rope);
    one(this.#defaults);
    one(EMPTY_VERSION);
    one(HOSTS);
    rope(this.#hosts.rope);
    one(TAIL);
  }

  /** The canonical JSON of the config with its version (serializeConfig's text), as slices. */
  chunks(): Buffer[] {
    const out: Buffer[] = [];
    const version = Buffer.from(JSON.stringify(this.version));
    this.#visit(0, (slice) => out.push(slice === EMPTY_VERSION ? version : slice));
    return out;
  }
}
