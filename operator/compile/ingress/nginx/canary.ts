// ingress-nginx canary Ingresses: `canary: "true"` makes the Ingress's paths attach to the primary
// Ingress's routes for the same host, path and pathType (the compiler's claims.ts and vhosts.ts),
// as a split whose header and cookie overrides and weights follow ingress-nginx's precedence.

import { re2Problem } from '../../../../contract/formats.ts';
import { limits, patterns } from '../../../../contract/schema.ts';
import { quote } from '../../core/objects.ts';
import type { CanarySettings } from '../settings.ts';
import type { NginxGroup } from './group.ts';

const NAMES = [
  'canary',
  'canary-weight',
  'canary-weight-total',
  'canary-by-header',
  'canary-by-header-value',
  'canary-by-header-pattern',
  'canary-by-cookie',
] as const;

/** Weights are shares in the data plane's split, bounded there. */
const MAX_TOTAL = 10_000;
/** ingress-nginx draws the weight out of at least 100. */
const MIN_TOTAL = 100;

const HEADER_NAME = /^[A-Za-z0-9](?:[A-Za-z0-9-]{0,126}[A-Za-z0-9])?$/;
const headerValue = new RegExp(patterns.headerValue);
const cookieName = new RegExp(patterns.cookieName);

function integer(value: string, max: number): number | undefined {
  if (!/^[0-9]{1,6}$/.test(value)) return undefined;
  const n = Number(value);
  return n <= max ? n : undefined;
}

export const canary: NginxGroup = {
  names: NAMES,
  differences: {
    'canary-weight':
      'requests are split by smooth weighted round robin (exact per cycle of canary-weight-total requests), not drawn at random per request',
    'canary-by-header-pattern':
      'the pattern runs on RE2 (linear time): backreferences and lookaround are refused, PCRE-only syntax is not accepted',
    canary:
      "the canary must be in the primary Ingress's namespace and match a primary path by host, path and pathType; its own other annotations, spec.tls and spec.defaultBackend are not used",
  },
  parse(read, out) {
    const on = read.get('canary');
    const others = NAMES.filter((n) => n !== 'canary' && read.get(n) !== undefined);
    if (on === undefined || on === 'false') {
      for (const name of others)
        read.notice(name, 'not used: the Ingress is not a canary (canary is not "true")');
      return;
    }
    if (on !== 'true') {
      read.problem('canary', `must be "true" or "false", not ${quote(on)}`);
      return;
    }
    const settings: CanarySettings = { total: MIN_TOTAL, weight: 0 };
    const totalText = read.get('canary-weight-total');
    if (totalText !== undefined) {
      const total = integer(totalText, MAX_TOTAL);
      if (total === undefined || total < 1)
        read.problem(
          'canary-weight-total',
          `must be a whole number from 1 to ${MAX_TOTAL}, not ${quote(totalText)}`,
        );
      else if (total < MIN_TOTAL) {
        read.notice(
          'canary-weight-total',
          `below ${MIN_TOTAL}: the weight is taken out of ${MIN_TOTAL}, as ingress-nginx does`,
        );
      } else settings.total = total;
    }
    const weightText = read.get('canary-weight');
    if (weightText !== undefined) {
      const weight = integer(weightText, 999_999);
      if (weight === undefined)
        read.problem(
          'canary-weight',
          `must be a whole number from 0 to canary-weight-total, not ${quote(weightText)}`,
        );
      else if (weight > settings.total) {
        read.notice(
          'canary-weight',
          `above canary-weight-total (${settings.total}): every request goes to the canary`,
        );
        settings.weight = settings.total;
      } else settings.weight = weight;
    }
    const header = read.get('canary-by-header');
    const value = read.get('canary-by-header-value');
    const pattern = read.get('canary-by-header-pattern');
    if (header !== undefined) {
      if (!HEADER_NAME.test(header))
        read.problem(
          'canary-by-header',
          `must be a header name (letters, digits and dashes, at most 128), not ${quote(header)}`,
        );
      else settings.header = { name: header.toLowerCase() };
    }
    if (value !== undefined) {
      if (header === undefined) read.notice('canary-by-header-value', 'not used without canary-by-header');
      else if (value.length > limits.headerValueChars || !headerValue.test(value))
        read.problem(
          'canary-by-header-value',
          `must be visible ASCII (inner spaces allowed), at most ${limits.headerValueChars} characters`,
        );
      else if (settings.header) settings.header.value = value;
    }
    if (pattern !== undefined) {
      if (header === undefined) read.notice('canary-by-header-pattern', 'not used without canary-by-header');
      else if (value !== undefined)
        read.notice(
          'canary-by-header-pattern',
          'not used: canary-by-header-value is set and wins, as in ingress-nginx',
        );
      else if (pattern.length > limits.headerPatternChars)
        read.problem('canary-by-header-pattern', `longer than ${limits.headerPatternChars} characters`);
      else {
        const why = re2Problem(pattern);
        if (why !== undefined)
          read.problem(
            'canary-by-header-pattern',
            `not a regular expression the linear-time engine (RE2) accepts: ${why}`,
          );
        else if (settings.header) settings.header.pattern = pattern;
      }
    }
    const cookie = read.get('canary-by-cookie');
    if (cookie !== undefined) {
      if (cookie.length > limits.cookieNameChars || !cookieName.test(cookie))
        read.problem('canary-by-cookie', `must be a cookie name (an RFC 6265 token), not ${quote(cookie)}`);
      else settings.cookie = cookie;
    }
    out.canary = settings;
  },
};
