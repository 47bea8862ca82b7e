// String checks of the config schema that a regular expression cannot say exactly, registered as
// JSON Schema formats on the validator's ajv instance (`validate.ts`). Each value they accept can
// be served: it parses as a URL origin, and a request can match it.

import { BlockList, isIP } from 'node:net';
import { RE2JS } from 're2js';
import { isRoutePattern } from './regex.ts';

// IPv4-mapped IPv6 (`::ffff:10.0.0.1`): the same endpoint is written as IPv4. The compiler never
// emits these, and a mapped form would let an IPv4 address slip past checks written for IPv4.
const mapped = new BlockList();
mapped.addSubnet('::ffff:0:0', 96, 'ipv6');

/**
 * An IPv4 or IPv6 literal an upstream origin can be built from: what `net.isIP` accepts, without a
 * zone id (`fe80::1%eth0`) and not IPv4-mapped.
 */
export function isEndpointAddress(value: string): boolean {
  if (value.length > 45 || value.includes('%')) return false;
  const family = isIP(value);
  if (family === 4) return true;
  return family === 6 && !mapped.check(value, 'ipv6');
}

const UNRESERVED = /^[A-Za-z0-9\-._~]$/;

/**
 * A route path in the normal form the data plane matches requests in, so that some request can
 * match it: no empty segment (`//`), no dot-segment (`/./`, `/../`, a trailing `/.` or `/..`), no
 * escape of an unreserved character (`%2E`, `%41`: requests have them decoded before matching),
 * no encoded slash or backslash (`%2F`, `%5C`: refused in requests) and no encoded control
 * character. The characters themselves are the schema pattern's job.
 */
export function isRoutePath(value: string): boolean {
  if (!value.startsWith('/')) return false;
  const segments = value.split('/');
  for (let i = 1; i < segments.length; i++) {
    const segment = segments[i];
    // Only the last segment may be empty: the path's trailing slash (or the root `/`).
    if (segment === '' && i < segments.length - 1) return false;
    if (segment === '.' || segment === '..') return false;
    for (let at = segment.indexOf('%'); at !== -1; at = segment.indexOf('%', at + 1)) {
      const byte = Number.parseInt(segment.slice(at + 1, at + 3), 16);
      if (!/^[0-9A-F]{2}$/.test(segment.slice(at + 1, at + 3))) return false;
      if (UNRESERVED.test(String.fromCharCode(byte))) return false;
      if (byte === 0x2f || byte === 0x5c || byte < 0x20 || byte === 0x7f) return false;
    }
  }
  return true;
}

/**
 * A regular expression the linear-time engine (RE2) compiles: no backreferences or lookaround,
 * bounded repeats. Visible ASCII and spaces only, so no control character reaches a log line.
 */
export function re2Problem(value: string): string | undefined {
  if (!/^[\x20-\x7E]+$/.test(value)) return 'only visible ASCII characters and spaces are allowed';
  try {
    RE2JS.compile(value);
    return undefined;
  } catch (e) {
    // The engine's own words (e.g. "invalid repeat count"), without the echoed pattern.
    const message = e instanceof Error ? e.message.replace(/: `[\s\S]*`$/, '') : 'does not compile';
    return message.slice(0, 120);
  }
}

/** Format name -> check, and what a value that fails it is. */
export const formats = {
  'endpoint-address': {
    validate: isEndpointAddress,
    problem: 'is not an IPv4 or IPv6 address (no zone id, no IPv4-mapped form)',
  },
  'route-path': {
    validate: isRoutePath,
    problem:
      'can never match: no "//", dot-segments ("/./", "/../") or escapes of unreserved characters (%2E, %41) or of "/", "\\" or control characters',
  },
  re2: {
    validate: (value: string) => re2Problem(value) === undefined,
    problem: 'is not a regular expression the linear-time engine (RE2) accepts',
  },
  'route-regex': {
    validate: isRoutePattern,
    problem: 'is not a regular expression the data plane accepts (RE2 syntax, bounded size; see regex.ts)',
  },
} as const;

export type FormatName = keyof typeof formats;
