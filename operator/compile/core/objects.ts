// Defensive access to Kubernetes objects. The compiler receives whatever the API (or a test) hands
// it; these helpers never throw and turn odd shapes into "absent".

import type { V1ObjectMeta } from '@kubernetes/client-node';

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function asString(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

export function asArray(value: unknown): unknown[] {
  return Array.isArray(value) ? value : [];
}

export function asRecord(value: unknown): Record<string, unknown> {
  return isRecord(value) ? value : {};
}

/** What stringMap gives for a missing map: shared, so frozen. */
const EMPTY_MAP: Record<string, string> = Object.freeze({});

/**
 * Own string entries of a map (labels, annotations, Secret data); other values are dropped. The
 * object itself is returned when it is already clean (the usual case), to spare the copy.
 */
export function stringMap(value: unknown): Record<string, string> {
  if (!isRecord(value)) return EMPTY_MAP;
  let clean = Object.getPrototypeOf(value) === Object.prototype || Object.getPrototypeOf(value) === null;
  for (const k in value) {
    if (!Object.hasOwn(value, k) || typeof value[k] !== 'string') {
      clean = false;
      break;
    }
  }
  if (clean) return value as Record<string, string>;
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(value)) if (typeof v === 'string') out[k] = v;
  return out;
}

const LABEL = /^[a-z0-9](?:[-a-z0-9]{0,61}[a-z0-9])?$/;
const SERVICE_NAME = /^[a-z](?:[-a-z0-9]{0,61}[a-z0-9])?$/;
const SUBDOMAIN =
  /^(?=.{1,253}$)[a-z0-9](?:[-a-z0-9]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[-a-z0-9]{0,61}[a-z0-9])?)*$/;

/** RFC 1123 label: namespaces, Service names (RFC 1035 labels are a subset we also accept). */
export function isDnsLabel(value: unknown): value is string {
  return typeof value === 'string' && LABEL.test(value);
}

/** RFC 1123 subdomain: most object names. */
export function isDnsSubdomain(value: unknown): value is string {
  return typeof value === 'string' && SUBDOMAIN.test(value);
}

/** RFC 1035 label (a Service name): starts with a letter. */
export function isServiceName(value: unknown): value is string {
  return typeof value === 'string' && SERVICE_NAME.test(value);
}

/** IANA service name as used for port names: at most 15 characters, at least one letter. */
export function isPortName(value: unknown): value is string {
  return (
    typeof value === 'string' &&
    value.length <= 15 &&
    /^[a-z0-9](?:[-a-z0-9]*[a-z0-9])?$/.test(value) &&
    /[a-z]/.test(value) &&
    !value.includes('--')
  );
}

export function isPortNumber(value: unknown): value is number {
  return typeof value === 'number' && Number.isInteger(value) && value >= 1 && value <= 65_535;
}

export interface Meta {
  namespace: string;
  name: string;
  /** `<namespace>/<name>` */
  key: string;
  uid?: string;
  /** RFC 3339 without fractional seconds, or "" when absent or unreadable. */
  created: string;
  generation: number;
  annotations: Record<string, string>;
}

/** Metadata of a namespaced object, or undefined when its name or namespace is unusable. */
export function readMeta(obj: unknown): Meta | undefined {
  if (!isRecord(obj)) return undefined;
  const meta = asRecord(obj.metadata) as V1ObjectMeta & Record<string, unknown>;
  const namespace = meta.namespace;
  const name = meta.name;
  if (!isDnsLabel(namespace) || !isDnsSubdomain(name)) return undefined;
  const uid = asString(meta.uid);
  const generation =
    typeof meta.generation === 'number' && Number.isInteger(meta.generation) ? meta.generation : 0;
  return {
    namespace,
    name,
    key: `${namespace}/${name}`,
    uid: uid !== undefined && /^[A-Za-z0-9-]{1,64}$/.test(uid) ? uid : undefined,
    created: timestamp(meta.creationTimestamp),
    generation,
    annotations: stringMap(meta.annotations),
  };
}

/** Normalises a creationTimestamp (a Date from the client, a string from YAML). */
export function timestamp(value: unknown): string {
  let date: Date | undefined;
  if (value instanceof Date) date = value;
  else if (typeof value === 'string' && /^\d{4}-\d{2}-\d{2}T[0-9:.]+(?:Z|[+-]\d{2}:\d{2})$/.test(value)) {
    date = new Date(value);
  }
  if (date === undefined) return '';
  const ms = date.getTime();
  if (Number.isNaN(ms)) return '';
  if (ms < MIN_TIME || ms > MAX_TIME) return `${date.toISOString().slice(0, -5)}Z`;
  return isoSeconds(ms);
}

// Years 0000-9999, the range toISOString writes with four digits.
const MIN_TIME = -62_167_219_200_000;
const MAX_TIME = 253_402_300_799_999;
const DAY = 86_400_000;

const TWO_DIGITS = Array.from({ length: 100 }, (_, n) => String(n).padStart(2, '0'));

/**
 * toISOString without the fractional seconds, by arithmetic: toISOString costs about a microsecond,
 * which every Ingress and RouteRatio of a compile pays. Days to a civil date as in Howard Hinnant's
 * `civil_from_days` (proleptic Gregorian calendar, eras of 400 years).
 */
function isoSeconds(ms: number): string {
  const days = Math.floor(ms / DAY);
  const seconds = Math.floor((ms - days * DAY) / 1000);
  const z = days + 719_468;
  const era = Math.floor(z / 146_097);
  const dayOfEra = z - era * 146_097;
  const yearOfEra = Math.floor(
    (dayOfEra -
      Math.floor(dayOfEra / 1460) +
      Math.floor(dayOfEra / 36_524) -
      Math.floor(dayOfEra / 146_096)) /
      365,
  );
  const dayOfYear = dayOfEra - (365 * yearOfEra + Math.floor(yearOfEra / 4) - Math.floor(yearOfEra / 100));
  const mp = Math.floor((5 * dayOfYear + 2) / 153);
  const day = dayOfYear - Math.floor((153 * mp + 2) / 5) + 1;
  const month = mp < 10 ? mp + 3 : mp - 9;
  const year = yearOfEra + era * 400 + (month <= 2 ? 1 : 0);
  const hh = Math.floor(seconds / 3600);
  const mm = Math.floor(seconds / 60) % 60;
  const d = TWO_DIGITS;
  return `${d[Math.floor(year / 100)]}${d[year % 100]}-${d[month]}-${d[day]}T${d[hh]}:${d[mm]}:${d[seconds % 60]}Z`;
}

/**
 * Age order used for every "oldest wins" rule: earlier creationTimestamp first (objects without
 * one are newest), then `namespace/name`.
 */
export function compareAge(a: { created: string; key: string }, b: { created: string; key: string }): number {
  if (a.created !== b.created) {
    if (a.created === '') return 1;
    if (b.created === '') return -1;
    return a.created < b.created ? -1 : 1;
  }
  return a.key < b.key ? -1 : a.key > b.key ? 1 : 0;
}

/**
 * A user-supplied string made safe for messages: JSON-quoted (control characters escaped) and
 * shortened.
 */
export function quote(value: unknown, max = 80): string {
  const text = typeof value === 'string' ? value : String(value);
  const short = text.length > max ? `${text.slice(0, max)}...` : text;
  // JSON.stringify leaves DEL, C1 controls and line/paragraph separators as they are.
  return JSON.stringify(short).replace(
    /[\u007f-\u009f\u2028\u2029]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
}

/** Like `quote` without the quotes: for status fields that echo a user value. */
export function safeText(value: unknown, max = 256): string {
  return quote(value, max).slice(1, -1);
}

export function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Lists up to this long count as short (see sortInPlace and compact). */
const SHORT = 16;

/**
 * Sorts in place (stable). Most lists the compiler sorts are short (the routes of a host, the
 * endpoints of a backend): they get an insertion sort, as Array.prototype.sort allocates working
 * space on every call.
 */
export function sortInPlace<T>(list: T[], compare: (a: T, b: T) => number): T[] {
  if (list.length > SHORT) return list.sort(compare);
  for (let i = 1; i < list.length; i++) {
    const item = list[i];
    let j = i - 1;
    while (j >= 0 && compare(list[j], item) > 0) {
      list[j + 1] = list[j];
      j--;
    }
    list[j + 1] = item;
  }
  return list;
}

// V8 gives an array that is pushed to at least 16 spare slots. A compile keeps tens of thousands
// of short lists alive to its end (paths of an Ingress, routes of a host, ports of a Service), and
// the garbage collector copies every slot of them, so short lists are kept at their exact length
// with the two helpers below.

/** The list at its exact length if it is short (a copy), else the list itself. */
export function compact<T>(list: T[]): T[] {
  return list.length <= SHORT ? list.slice() : list;
}

/** Adds an item to a list that usually stays short; use the list returned. */
export function append<T>(list: T[], item: T): T[] {
  if (list.length >= SHORT) {
    list.push(item);
    return list;
  }
  return list.concat([item]);
}

/** Adds a name to a namespace -> names map. */
export function addName(map: Map<string, Set<string>>, namespace: string, name: string): void {
  const names = map.get(namespace);
  if (names) names.add(name);
  else map.set(namespace, new Set([name]));
}
