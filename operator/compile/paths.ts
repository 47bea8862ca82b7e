// Ingress paths, made exact. A rule path must already be in the normal form the data plane
// matches requests in (absolute, no dot-segments, no repeated slashes, no encoded slash or
// backslash); anything else could never match or could be used to slip past another rule, so it
// is refused with a reason rather than silently rewritten. Percent-escapes of unreserved
// characters are decoded and hex digits upper-cased (RFC 3986 6.2.2), as for requests.

export type PathType = 'Exact' | 'Prefix';

export interface RulePath {
  path: string;
  pathType: PathType;
}

/** On failure, `field` says whether the path or the pathType is wrong. */
export type PathResult = { ok: true; value: RulePath } | { ok: false; message: string; field?: 'pathType' };

export const MAX_PATH_LENGTH = 2048;

// RFC 3986 pchar minus `%` (handled separately) plus `/`.
const PLAIN = /^[A-Za-z0-9\-._~!$&'()*+,;=:@/]$/;
const UNRESERVED = /^[A-Za-z0-9\-._~]$/;

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

  let path = '';
  for (let i = 0; i < rawPath.length; i++) {
    const c = rawPath[i];
    if (c === '%') {
      const hex = rawPath.slice(i + 1, i + 3);
      if (!/^[0-9A-Fa-f]{2}$/.test(hex))
        return { ok: false, message: 'path has a "%" that is not a %XX escape' };
      const code = Number.parseInt(hex, 16);
      if (code === 0x2f || code === 0x5c) {
        return { ok: false, message: 'path must not contain an encoded slash or backslash (%2F, %5C)' };
      }
      if (code < 0x20 || code === 0x7f)
        return { ok: false, message: 'path must not contain control characters' };
      const decoded = String.fromCharCode(code);
      path += UNRESERVED.test(decoded) ? decoded : `%${hex.toUpperCase()}`;
      i += 2;
      continue;
    }
    if (c === '\\') return { ok: false, message: 'path must not contain a backslash' };
    const code = c.charCodeAt(0);
    if (code < 0x20 || code === 0x7f)
      return { ok: false, message: 'path must not contain control characters' };
    if (!PLAIN.test(c)) {
      return {
        ok: false,
        message: 'path may contain only letters, digits, "-._~!$&\'()*+,;=:@/" and %XX escapes',
      };
    }
    path += c;
  }
  if (path.includes('//')) return { ok: false, message: 'path must not contain repeated slashes ("//")' };
  for (const segment of path.split('/')) {
    if (segment === '.' || segment === '..') {
      return { ok: false, message: 'path must not contain dot-segments ("/./" or "/../")' };
    }
  }
  // Prefix matching is element-wise, so a trailing slash means nothing.
  if (pathType === 'Prefix' && path.length > 1 && path.endsWith('/')) path = path.slice(0, -1);
  return { ok: true, value: { path, pathType } };
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
