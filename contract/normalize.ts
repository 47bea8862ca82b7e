// Request-target and Host normalisation, done once per request before any matching. The
// normalised path is both what routes are matched against and what is forwarded upstream, so a
// backend never sees a path that could resolve differently from what the route rules saw.

export type TargetResult =
  | { ok: true; path: string; query: string; authority: string | null }
  | { ok: false; reason: string };

const SLASH = 0x2f;
const DOT = 0x2e;
const PERCENT = 0x25;
const QUESTION = 0x3f;
const HASH = 0x23;
const BACKSLASH = 0x5c;

/**
 * Splits a request target (origin-form `/p?q` or absolute-form `http://h/p?q`) into a normalised
 * path and the raw query (`?...` or ""). Dot-segments are resolved (RFC 3986 5.2.4), repeated
 * slashes merged, percent-encoded unreserved characters decoded and other escapes upper-cased.
 * Encoded slashes or backslashes (`%2F`, `%5C`), a literal backslash, a fragment, control,
 * space or non-ASCII characters and malformed escapes are refused.
 */
export function normalizeTarget(target: string): TargetResult {
  let authority: string | null = null;
  let rest = target;
  if (target.charCodeAt(0) !== SLASH) {
    const abs = /^https?:\/\/([^/?#]*)/i.exec(target);
    if (abs === null) return { ok: false, reason: 'request target must be an absolute path' };
    authority = abs[1];
    rest = target.slice(abs[0].length);
    if (rest === '' || rest.charCodeAt(0) === QUESTION) rest = '/' + rest;
    if (rest.charCodeAt(0) !== SLASH) return { ok: false, reason: 'request target must be an absolute path' };
  }

  let queryAt = -1;
  let needsWork = false;
  let prev = 0;
  for (let i = 0; i < rest.length; i++) {
    const c = rest.charCodeAt(i);
    if (c === QUESTION) {
      queryAt = i;
      break;
    }
    if (c <= 0x20 || c >= 0x7f) return { ok: false, reason: 'invalid character in path' };
    if (c === BACKSLASH) return { ok: false, reason: 'backslash in path' };
    if (c === HASH) return { ok: false, reason: 'fragment in request target' };
    if (c === PERCENT || (prev === SLASH && (c === SLASH || c === DOT))) needsWork = true;
    prev = c;
  }
  const rawPath = queryAt === -1 ? rest : rest.slice(0, queryAt);
  const query = queryAt === -1 ? '' : rest.slice(queryAt);
  for (let i = queryAt + 1; queryAt !== -1 && i < rest.length; i++) {
    const c = rest.charCodeAt(i);
    if (c <= 0x20 || c >= 0x7f) return { ok: false, reason: 'invalid character in query' };
    if (c === HASH) return { ok: false, reason: 'fragment in request target' };
  }
  if (!needsWork) return { ok: true, path: rawPath, query, authority };
  const path = normalizePath(rawPath);
  if (path === null) return { ok: false, reason: 'encoded slash, backslash or malformed escape in path' };
  return { ok: true, path, query, authority };
}

const HEX = '0123456789ABCDEF';

function hexValue(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  if (c >= 0x41 && c <= 0x46) return c - 0x41 + 10;
  if (c >= 0x61 && c <= 0x66) return c - 0x61 + 10;
  return -1;
}

function isUnreserved(c: number): boolean {
  return (
    (c >= 0x41 && c <= 0x5a) ||
    (c >= 0x61 && c <= 0x7a) ||
    (c >= 0x30 && c <= 0x39) ||
    c === 0x2d ||
    c === 0x2e ||
    c === 0x5f ||
    c === 0x7e
  );
}

/** Decodes unreserved escapes in one segment; null on `%2F`, `%5C` or a malformed escape. */
function normalizeSegment(seg: string): string | null {
  if (seg.indexOf('%') === -1) return seg;
  let out = '';
  for (let i = 0; i < seg.length; i++) {
    const c = seg.charCodeAt(i);
    if (c !== PERCENT) {
      out += seg[i];
      continue;
    }
    const hi = hexValue(seg.charCodeAt(i + 1));
    const lo = hexValue(seg.charCodeAt(i + 2));
    if (hi < 0 || lo < 0) return null;
    const byte = hi * 16 + lo;
    if (byte === SLASH || byte === BACKSLASH) return null;
    out += isUnreserved(byte) ? String.fromCharCode(byte) : '%' + HEX[hi] + HEX[lo];
    i += 2;
  }
  return out;
}

/**
 * Normalises an absolute path (starting with `/`, no query). Returns null when the path holds an
 * encoded slash or backslash or a malformed escape.
 */
export function normalizePath(rawPath: string): string | null {
  const parts = rawPath.split('/');
  const out: string[] = [];
  // A path ending in `/`, `/.` or `/..` keeps its trailing slash (RFC 3986 5.2.4).
  let trailingSlash = false;
  for (let i = 1; i < parts.length; i++) {
    const seg = normalizeSegment(parts[i]);
    if (seg === null) return null;
    const last = i === parts.length - 1;
    if (seg === '' || seg === '.') {
      if (last) trailingSlash = true;
      continue;
    }
    if (seg === '..') {
      out.pop();
      if (last) trailingSlash = true;
      continue;
    }
    out.push(seg);
  }
  if (out.length === 0) return '/';
  return '/' + out.join('/') + (trailingSlash ? '/' : '');
}

/**
 * Lower-cases a Host header or `:authority` and drops any port and trailing dot. Returns null
 * for values that cannot be a host name or IP literal.
 */
export function normalizeHost(raw: string): string | null {
  let host = raw;
  if (host.charCodeAt(0) === 0x5b) {
    // IPv6 literal: `[::1]` or `[::1]:8080`.
    const end = host.indexOf(']');
    if (end === -1) return null;
    const after = host.slice(end + 1);
    if (after !== '' && !/^:\d{1,5}$/.test(after)) return null;
    host = host.slice(0, end + 1).toLowerCase();
    return /^\[[0-9a-f:.]+\]$/.test(host) ? host : null;
  }
  const colon = host.indexOf(':');
  if (colon !== -1) {
    if (!/^\d{1,5}$/.test(host.slice(colon + 1))) return null;
    host = host.slice(0, colon);
  }
  if (host.endsWith('.')) host = host.slice(0, -1);
  host = host.toLowerCase();
  if (host.length === 0 || host.length > 253 || !/^[a-z0-9_-]+(\.[a-z0-9_-]+)*$/.test(host)) return null;
  return host;
}
