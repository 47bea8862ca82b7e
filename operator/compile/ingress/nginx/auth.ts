// ingress-nginx's authentication annotations: basic auth from a Secret (`auth-type: basic`,
// `auth-secret`, `auth-secret-type`, `auth-realm`) and external auth by a subrequest (`auth-url`,
// `auth-method`, `auth-signin`, `auth-signin-redirect-param`, `auth-response-headers`,
// `auth-request-redirect`). Any value that cannot be served is a problem: the Ingress is not
// routed, never served without its authentication. The Secret is read later (auth-secret.ts).

import type { ExternalAuthPolicy } from '../../../../contract/types.ts';
import { isDnsLabel, isDnsSubdomain, quote } from '../../core/objects.ts';
import type { NginxGroup, NginxReader, SettingsBuilder } from './group.ts';

const MAX_URL = 2048;
const MAX_HEADERS = 64;
/** Bound on the whole auth subrequest (ingress-nginx inherits the location's proxy timeouts). */
export const EXTERNAL_AUTH_TIMEOUT_MS = 10_000;
const METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']);
const TOKEN = /^[!#$%&'*+.^_`|~0-9a-z-]{1,128}$/;

/** The `namespace/name` or `name` of `auth-secret`, or undefined when it is not one. */
export function parseSecretRef(value: string): { namespace?: string; name: string } | undefined {
  const parts = value.trim().split('/');
  if (parts.length === 1 && isDnsSubdomain(parts[0])) return { name: parts[0] };
  if (parts.length === 2 && isDnsLabel(parts[0]) && isDnsSubdomain(parts[1]))
    return { namespace: parts[0], name: parts[1] };
  return undefined;
}

/** An absolute http(s) URL without nginx variables, spaces or control characters. */
function readUrl(read: NginxReader, name: string): string | undefined {
  const value = read.get(name);
  if (value === undefined) return undefined;
  const text = value.trim();
  if (text.length > MAX_URL || !/^[!-~]+$/.test(text)) {
    read.problem(name, `must be an http or https URL of at most ${MAX_URL} printable characters`);
    return undefined;
  }
  if (text.includes('$')) {
    read.problem(
      name,
      `nginx variables ($host, $escaped_request_uri, ...) are not expanded: write the URL in full`,
    );
    return undefined;
  }
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    read.problem(name, `must be an absolute http or https URL, not ${quote(value)}`);
    return undefined;
  }
  if (
    (url.protocol !== 'http:' && url.protocol !== 'https:') ||
    url.hostname === '' ||
    url.username ||
    url.password
  ) {
    read.problem(name, 'must be an http or https URL with a host and without user information');
    return undefined;
  }
  return url.href;
}

function parseBasic(read: NginxReader, out: SettingsBuilder): void {
  const type = read.get('auth-type');
  if (type === undefined) {
    for (const name of ['auth-secret', 'auth-secret-type', 'auth-realm']) {
      if (read.get(name) !== undefined) read.notice(name, 'has no effect without auth-type: basic');
    }
    return;
  }
  const kind = type.trim().toLowerCase();
  if (kind === 'digest') {
    read.problem(
      'auth-type',
      'digest authentication is not served (MD5-based); use basic over HTTPS, or auth-url',
    );
    return;
  }
  if (kind !== 'basic') {
    read.problem('auth-type', `must be "basic", not ${quote(type)}`);
    return;
  }
  const secretText = read.get('auth-secret');
  if (secretText === undefined) {
    read.problem('auth-secret', 'is required with auth-type: basic');
    return;
  }
  const secret = parseSecretRef(secretText);
  if (secret === undefined) {
    read.problem('auth-secret', `must be <name> or <namespace>/<name> of a Secret, not ${quote(secretText)}`);
    return;
  }
  const typeText = read.get('auth-secret-type')?.trim() ?? 'auth-file';
  if (typeText !== 'auth-file' && typeText !== 'auth-map') {
    read.problem('auth-secret-type', `must be "auth-file" or "auth-map", not ${quote(typeText)}`);
    return;
  }
  const realm = read.get('auth-realm') ?? '';
  // Written inside a quoted-string of WWW-Authenticate: printable ASCII, no quote or backslash.
  if (realm.length > 256 || !/^[ !#-[\]-~]*$/.test(realm)) {
    read.problem('auth-realm', 'must be at most 256 printable ASCII characters without " or \\');
    return;
  }
  out.basicAuth = { realm, secret, secretType: typeText };
}

function parseExternal(read: NginxReader, out: SettingsBuilder): void {
  if (read.get('auth-url') === undefined) {
    for (const name of [
      'auth-method',
      'auth-signin',
      'auth-signin-redirect-param',
      'auth-response-headers',
      'auth-request-redirect',
    ]) {
      if (read.get(name) !== undefined) read.notice(name, 'has no effect without auth-url');
    }
    return;
  }
  const url = readUrl(read, 'auth-url');
  const signin = readUrl(read, 'auth-signin');
  let ok = url !== undefined && (signin !== undefined || read.get('auth-signin') === undefined);
  const methodText = read.get('auth-method');
  const method = methodText?.trim().toUpperCase() ?? 'GET';
  if (!METHODS.has(method)) {
    read.problem('auth-method', `must be one of ${[...METHODS].join(', ')}, not ${quote(methodText)}`);
    ok = false;
  }
  const param = read.get('auth-signin-redirect-param');
  if (param !== undefined && param !== 'rd') {
    read.problem('auth-signin-redirect-param', 'only "rd" (the default) is served');
    ok = false;
  }
  const headersText = read.get('auth-response-headers');
  const responseHeaders: string[] = [];
  if (headersText !== undefined) {
    const names = headersText
      .split(',')
      .map((h) => h.trim().toLowerCase())
      .filter((h) => h !== '');
    if (names.length > MAX_HEADERS || names.some((h) => !TOKEN.test(h))) {
      read.problem('auth-response-headers', `must be at most ${MAX_HEADERS} comma-separated header names`);
      ok = false;
    } else for (const h of names) if (!responseHeaders.includes(h)) responseHeaders.push(h);
  }
  const redirect = read.get('auth-request-redirect');
  if (redirect !== undefined && (redirect.length > MAX_URL || !/^[!-~]+$/.test(redirect))) {
    read.problem('auth-request-redirect', `must be at most ${MAX_URL} printable characters without spaces`);
    ok = false;
  }
  if (!ok || url === undefined) return;
  // Keys in sorted order (see emit.ts).
  const policy: ExternalAuthPolicy = {
    method,
    ...(redirect !== undefined ? { requestRedirect: redirect } : {}),
    responseHeaders: responseHeaders.sort(),
    ...(signin !== undefined ? { signin } : {}),
    timeoutMs: EXTERNAL_AUTH_TIMEOUT_MS,
    url,
  };
  out.policy.externalAuth = policy;
}

export const auth: NginxGroup = {
  names: [
    'auth-type',
    'auth-secret',
    'auth-secret-type',
    'auth-realm',
    'auth-url',
    'auth-method',
    'auth-signin',
    'auth-signin-redirect-param',
    'auth-response-headers',
    'auth-request-redirect',
  ],
  differences: {
    'auth-type': 'only basic; bcrypt, apr1 and {SHA} hashes (crypt(3) and plain text are refused)',
    'auth-secret': 'a Secret in another namespace is refused, as ingress-nginx does by default',
    'auth-url': `nginx variables are not expanded; the subrequest is bounded to ${EXTERNAL_AUTH_TIMEOUT_MS / 1000} s; HTTPS certificates are verified`,
    'auth-signin': 'nginx variables are not expanded; rd is the original URL as ingress-nginx builds it',
  },
  parse(read: NginxReader, out: SettingsBuilder): void {
    parseBasic(read, out);
    parseExternal(read, out);
  },
};
