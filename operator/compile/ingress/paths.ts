// Ingress paths, made exact. A rule path must already be in the normal form the data plane
// matches requests in (absolute, no dot-segments, no repeated slashes, no encoded slash or
// backslash); anything else could never match or could be used to slip past another rule, so it
// is refused with a reason rather than silently rewritten. Percent-escapes of unreserved
// characters are decoded and hex digits upper-cased (RFC 3986 6.2.2), as for requests.

import { compileLocationRegex } from '../../../contract/regex.ts';

export type PathType = 'Exact' | 'Prefix';

export interface RulePath {
  path: string;
  pathType: PathType;
}

/** On failure, `field` says whether the path or the pathType is wrong. */
export type PathResult = { ok: true; value: RulePath } | { ok: false; message: string; field?: 'pathType' };

export const MAX_PATH_LENGTH = 2048;

// Characters by code unit, so the loop below tests each with one array read instead of a regex.
// PLAIN: RFC 3986 pchar minus `%` (handled separately) plus `/`. UNRESERVED: decoded from escapes.
const PLAIN = charTable("A-Za-z0-9-._~!$&'()*+,;=:@/");
const UNRESERVED = charTable('A-Za-z0-9-._~');

function charTable(spec: string): boolean[] {
  const table: boolean[] = new Array(128).fill(false);
  for (let i = 0; i < spec.length; i++) {
    if (spec[i + 1] === '-' && i + 2 < spec.length) {
      for (let c = spec.charCodeAt(i); c <= spec.charCodeAt(i + 2); c++) table[c] = true;
      i += 2;
    } else table[spec.charCodeAt(i)] = true;
  }
  return table;
}

const DOT_SEGMENT = /\/\.\.?(?:\/|$)/;

function hexValue(code: number): number {
  if (code >= 0x30 && code <= 0x39) return code - 0x30;
  const lower = code | 0x20;
  return lower >= 0x61 && lower <= 0x66 ? lower - 0x61 + 10 : -1;
}

/** `ImplementationSpecific` (and a missing pathType) behave as `Prefix`. */
export function parsePathType(raw: unknown): PathType | undefined {
  if (raw === 'Exact') return 'Exact';
  if (raw === 'Prefix' || raw === 'ImplementationSpecific' || raw === undefined || raw === null)
    return 'Prefix';
  return undefined;
}

export function parsePath(rawPath: unknown, rawPathType: unknown): PathResult {
  const pathType = parsePathType(rawPathType);
  if (pathType === undefined) {
    return {
      ok: false,
      field: 'pathType',
      message: 'pathType must be Exact, Prefix or ImplementationSpecific',
    };
  }
  if (rawPath === undefined || rawPath === null || rawPath === '') {
    // The API allows an empty path only for ImplementationSpecific; it means everything.
    if (rawPathType === 'ImplementationSpecific' || rawPathType === undefined || rawPathType === null) {
      return { ok: true, value: { path: '/', pathType: 'Prefix' } };
    }
    return { ok: false, message: 'path is required for Exact and Prefix' };
  }
  if (typeof rawPath !== 'string') return { ok: false, message: 'path must be a string' };
  if (rawPath.length > MAX_PATH_LENGTH)
    return { ok: false, message: `path is longer than ${MAX_PATH_LENGTH} characters` };
  if (!rawPath.startsWith('/')) return { ok: false, message: 'path must be absolute (start with "/")' };

  // The path is copied only when an escape is rewritten; otherwise it is used as it is.
  let path = '';
  let copied = 0;
  for (let i = 0; i < rawPath.length; i++) {
    const code = rawPath.charCodeAt(i);
    if (code === 0x25 /* % */) {
      const high = i + 2 < rawPath.length ? hexValue(rawPath.charCodeAt(i + 1)) : -1;
      const low = high < 0 ? -1 : hexValue(rawPath.charCodeAt(i + 2));
      if (low < 0) return { ok: false, message: 'path has a "%" that is not a %XX escape' };
      const value = high * 16 + low;
      if (value === 0x2f || value === 0x5c) {
        return { ok: false, message: 'path must not contain an encoded slash or backslash (%2F, %5C)' };
      }
      if (value < 0x20 || value === 0x7f)
        return { ok: false, message: 'path must not contain control characters' };
      const written = rawPath.slice(i, i + 3);
      const normal = UNRESERVED[value] ? String.fromCharCode(value) : written.toUpperCase();
      if (normal !== written) {
        path += rawPath.slice(copied, i) + normal;
        copied = i + 3;
      }
      i += 2;
      continue;
    }
    if (code === 0x5c /* \ */) return { ok: false, message: 'path must not contain a backslash' };
    if (code < 0x20 || code === 0x7f)
      return { ok: false, message: 'path must not contain control characters' };
    if (code >= 128 || !PLAIN[code]) {
      return {
        ok: false,
        message: 'path may contain only letters, digits, "-._~!$&\'()*+,;=:@/" and %XX escapes',
      };
    }
  }
  path = copied === 0 ? rawPath : path + rawPath.slice(copied);
  if (path.includes('//')) return { ok: false, message: 'path must not contain repeated slashes ("//")' };
  // The path starts with "/", so every segment follows a slash.
  if (DOT_SEGMENT.test(path)) {
    return { ok: false, message: 'path must not contain dot-segments ("/./" or "/../")' };
  }
  // Prefix matching is element-wise, so a trailing slash means nothing.
  if (pathType === 'Prefix' && path.length > 1 && path.endsWith('/')) path = path.slice(0, -1);
  return { ok: true, value: { path, pathType } };
}

/**
 * A path of an Ingress in ingress-nginx's regex mode: an RE2 pattern, kept as written, matched
 * case-insensitively from the start of the request path. The pathType still names the claim
 * (conflicts between Ingresses), but every path of a regex host is matched as a pattern.
 */
export function parseRegexPath(rawPath: unknown, rawPathType: unknown): PathResult {
  const pathType = parsePathType(rawPathType);
  if (pathType === undefined) {
    return {
      ok: false,
      field: 'pathType',
      message: 'pathType must be Exact, Prefix or ImplementationSpecific',
    };
  }
  if (rawPath === undefined || rawPath === null || rawPath === '')
    return { ok: true, value: { path: '/', pathType } };
  if (typeof rawPath !== 'string') return { ok: false, message: 'path must be a string' };
  const compiled = compileLocationRegex(rawPath);
  if (!compiled.ok) {
    return {
      ok: false,
      message: `path ${JSON.stringify(rawPath.slice(0, 100))} as a regular expression (use-regex) ${compiled.message}`,
    };
  }
  return { ok: true, value: { path: rawPath, pathType } };
}

/**
 * Whether a normalised request path matches a rule: the Kubernetes path table. Used by tests and
 * by `/debug` tooling; the data plane implements the same rule.
 */
export function pathMatches(rule: RulePath, requestPath: string): boolean {
  if (rule.pathType === 'Exact') return requestPath === rule.path;
  if (rule.path === '/') return true;
  if (!requestPath.startsWith(rule.path)) return false;
  return requestPath.length === rule.path.length || requestPath[rule.path.length] === '/';
}
