// ingress-nginx's CORS annotations: `enable-cors` and the `cors-*` settings, with ingress-nginx's
// defaults. Values are checked token by token (no backtracking patterns over user text); a value
// that does not fit is a problem, never replaced by a wider default such as `*`.

import type { CorsPolicy } from '../../../../contract/types.ts';
import { quote } from '../../core/objects.ts';
import type { NginxGroup, NginxReader, SettingsBuilder } from './group.ts';
import { nginxBool } from './redirects.ts';

// ingress-nginx's documented defaults.
export const CORS_DEFAULTS = {
  allowHeaders:
    'DNT,Keep-Alive,User-Agent,X-Requested-With,If-Modified-Since,Cache-Control,Content-Type,Range,Authorization',
  allowMethods: 'GET, PUT, POST, DELETE, PATCH, OPTIONS',
  maxAgeSeconds: 1728000,
} as const;

const MAX_ORIGINS = 100;
const MAX_LIST_CHARS = 4096;
const ORIGIN = /^[a-z][a-z0-9+.-]{0,31}:\/\/(?:\*\.)?[A-Za-z0-9.-]{1,253}(?::[0-9]{1,5})?$/;

/** Splits a token list on commas and blanks; undefined when a token does not match `token`. */
function tokenList(value: string, token: RegExp): string | undefined {
  if (value.length > MAX_LIST_CHARS) return undefined;
  const tokens = value.split(/[ ,]+/).filter((t) => t !== '');
  if (tokens.length === 0 || !tokens.every((t) => token.test(t))) return undefined;
  return tokens.join(', ');
}

function readOrigins(read: NginxReader): string[] | undefined {
  const value = read.get('cors-allow-origin');
  if (value === undefined) return ['*'];
  const entries = value
    .split(',')
    .map((e) => e.trim())
    .filter((e) => e !== '');
  const bad = (why: string) => {
    read.problem('cors-allow-origin', why);
    return undefined;
  };
  if (value.length > MAX_ORIGINS * 300) return bad('is too long');
  if (entries.length === 0)
    return bad('must list origins (https://app.example.com, https://*.example.com) or be "*"');
  if (entries.length > MAX_ORIGINS) return bad(`must list at most ${MAX_ORIGINS} origins`);
  if (entries.includes('*')) {
    if (entries.length > 1) return bad('"*" allows every origin and cannot be combined with others');
    return ['*'];
  }
  for (const e of entries) {
    if (e !== 'null' && !ORIGIN.test(e))
      return bad(
        `must be origins like https://app.example.com, https://app.example.com:8443 or https://*.example.com (one label), "null" or "*", not ${quote(e)}`,
      );
  }
  return [...new Set(entries)];
}

export const cors: NginxGroup = {
  names: [
    'enable-cors',
    'cors-allow-origin',
    'cors-allow-methods',
    'cors-allow-headers',
    'cors-expose-headers',
    'cors-allow-credentials',
    'cors-max-age',
  ],
  differences: {
    'enable-cors':
      'only a real preflight (OPTIONS with Origin and Access-Control-Request-Method) is answered 204 locally; other OPTIONS requests reach the backend; a preflight answer that echoes the origin carries Vary: Origin; local answers (redirects, 403) carry no CORS headers',
    'cors-allow-origin':
      'origins are matched whole (ingress-nginx anchors only the end); a value that does not parse keeps the Ingress from being served instead of falling back to "*"',
    'cors-allow-methods': 'the list is sent normalised as "A, B"',
    'cors-allow-headers': 'the list is sent normalised as "A, B"',
    'cors-expose-headers': 'the list is sent normalised as "A, B"',
  },
  parse(read: NginxReader, out: SettingsBuilder): void {
    const enabledText = read.get('enable-cors');
    let enabled = false;
    if (enabledText !== undefined) {
      const b = nginxBool(enabledText);
      if (b === undefined)
        read.problem('enable-cors', `must be "true" or "false", not ${quote(enabledText)}`);
      else enabled = b;
    }
    // Every value is checked even when CORS is off, so a mistake shows before it is switched on.
    const allowOrigins = readOrigins(read);
    const list = (name: string, fallback: string | undefined, token: RegExp, form: string) => {
      const value = read.get(name);
      if (value === undefined) return fallback;
      const normal = tokenList(value, token);
      if (normal === undefined) read.problem(name, `must be ${form}, not ${quote(value)}`);
      return normal;
    };
    const allowMethods = list(
      'cors-allow-methods',
      CORS_DEFAULTS.allowMethods,
      /^[A-Za-z]{1,32}$/,
      'comma-separated methods like "GET, POST"',
    );
    const allowHeaders = list(
      'cors-allow-headers',
      CORS_DEFAULTS.allowHeaders,
      /^[A-Za-z0-9_-]{1,128}$/,
      'comma-separated header names like "X-Token, Content-Type"',
    );
    const exposeHeaders = list(
      'cors-expose-headers',
      undefined,
      /^(?:[A-Za-z0-9_-]{1,128}|\*)$/,
      'comma-separated header names or "*"',
    );
    let allowCredentials = true;
    const credentials = read.get('cors-allow-credentials');
    if (credentials !== undefined) {
      const b = nginxBool(credentials);
      if (b === undefined)
        read.problem('cors-allow-credentials', `must be "true" or "false", not ${quote(credentials)}`);
      else allowCredentials = b;
    }
    let maxAgeSeconds: number = CORS_DEFAULTS.maxAgeSeconds;
    const maxAge = read.get('cors-max-age');
    if (maxAge !== undefined) {
      if (!/^[0-9]{1,10}$/.test(maxAge) || Number(maxAge) > 2147483647)
        read.problem('cors-max-age', `must be a number of seconds (0 to 2147483647), not ${quote(maxAge)}`);
      else maxAgeSeconds = Number(maxAge);
    }
    if (!enabled || allowOrigins === undefined || allowMethods === undefined || allowHeaders === undefined)
      return;
    // Keys in sorted order (see emit.ts).
    const policy: CorsPolicy = {
      allowCredentials,
      allowHeaders,
      allowMethods,
      allowOrigins,
      ...(exposeHeaders !== undefined ? { exposeHeaders } : {}),
      maxAgeSeconds,
    };
    out.policy.cors = policy;
  },
};
