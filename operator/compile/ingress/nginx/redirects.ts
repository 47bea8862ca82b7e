// ingress-nginx's redirects: HTTP to HTTPS (`ssl-redirect`, `force-ssl-redirect`) and a fixed
// redirect of every request to a URL (`temporal-redirect`, `permanent-redirect`). The URL is sent
// as written, never interpreted: nginx variables such as `$request_uri` are refused, not expanded.

import { quote } from '../../core/objects.ts';
import type { NginxGroup, NginxReader, SettingsBuilder } from './group.ts';

const MAX_URL = 2048;
// The codes nginx's `return` answers with a Location; for others it sends the URL as the body.
const REDIRECT_CODES = new Set([301, 302, 303, 307, 308]);

/** Go's strconv.ParseBool spellings, which ingress-nginx accepts. */
export function nginxBool(value: string): boolean | undefined {
  if (['1', 't', 'T', 'TRUE', 'true', 'True'].includes(value)) return true;
  if (['0', 'f', 'F', 'FALSE', 'false', 'False'].includes(value)) return false;
  return undefined;
}

/** Why `value` is not a redirect target Sluice can send as written, or undefined when it is. */
export function redirectUrlProblem(value: string): string | undefined {
  if (value.length === 0) return 'must be an absolute http or https URL, not empty';
  if (value.length > MAX_URL) return `must be at most ${MAX_URL} characters`;
  // Visible ASCII only: no blanks, CR, LF or other control characters reach a Location header.
  if (!/^[\x21-\x7e]+$/.test(value))
    return `must be an absolute http or https URL of visible ASCII characters (percent-encode the rest), not ${quote(value)}`;
  if (value.includes('$'))
    return `nginx variables are not expanded by Sluice; give the URL itself, not ${quote(value)}`;
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return `must be an absolute http or https URL, not ${quote(value)}`;
  }
  if (
    (url.protocol !== 'http:' && url.protocol !== 'https:') ||
    !/^https?:\/\/[^/?#]/i.test(value) ||
    url.host === ''
  )
    return `must be an absolute http or https URL, not ${quote(value)}`;
  if (url.username !== '' || url.password !== '') return 'must not carry a user name or password';
  return undefined;
}

function parseBoolInto(read: NginxReader, name: string, set: (v: boolean) => void): void {
  const value = read.get(name);
  if (value === undefined) return;
  const b = nginxBool(value);
  if (b === undefined) read.problem(name, `must be "true" or "false", not ${quote(value)}`);
  else set(b);
}

/** The status code for a redirect: `fallback` when absent, or out of range as ingress-nginx does. */
function redirectCode(read: NginxReader, name: string, fallback: number, max: number): number | undefined {
  const value = read.get(name);
  if (value === undefined) return fallback;
  if (!/^[0-9]{1,4}$/.test(value)) {
    read.problem(name, `must be a redirect status code such as ${fallback}, not ${quote(value)}`);
    return undefined;
  }
  const code = Number(value);
  if (code < 300 || code > max) {
    // ingress-nginx silently uses its default for codes outside 300-<max>; so does Sluice, aloud.
    read.notice(name, `${code} is outside 300-${max}: ${fallback} is used, as ingress-nginx does`);
    return fallback;
  }
  if (!REDIRECT_CODES.has(code)) {
    read.problem(
      name,
      `must be 301, 302, 303, 307 or 308 (nginx answers ${code} without a Location), not ${code}`,
    );
    return undefined;
  }
  return code;
}

export const redirects: NginxGroup = {
  names: [
    'ssl-redirect',
    'force-ssl-redirect',
    'permanent-redirect',
    'permanent-redirect-code',
    'temporal-redirect',
    'temporal-redirect-code',
    'from-to-www-redirect',
  ],
  differences: {
    'ssl-redirect':
      'the path keeps its trailing slash (as with preserve-trailing-slash: "true"), and a CORS preflight over HTTP gets the redirect too',
    'force-ssl-redirect':
      'the path keeps its trailing slash (as with preserve-trailing-slash: "true"), and a CORS preflight over HTTP gets the redirect too',
    'from-to-www-redirect':
      'the Location carries no port (ingress-nginx adds its listen port), and the redirect host is served over TLS only when the Ingress lists it in spec.tls',
    'permanent-redirect': 'nginx variables ($request_uri, ...) in the URL are refused instead of expanded',
    'temporal-redirect': 'nginx variables ($request_uri, ...) in the URL are refused instead of expanded',
    'permanent-redirect-code': 'codes nginx answers without a Location (300, 304, 305, 306) are refused',
    'temporal-redirect-code': 'codes nginx answers without a Location (300, 304, 305, 306) are refused',
  },
  parse(read: NginxReader, out: SettingsBuilder): void {
    parseBoolInto(read, 'from-to-www-redirect', (v) => {
      if (v) out.fromToWww = true;
      else delete out.fromToWww;
    });
    parseBoolInto(read, 'ssl-redirect', (v) => {
      out.sslRedirect = v;
    });
    parseBoolInto(read, 'force-ssl-redirect', (v) => {
      if (v) out.forceSslRedirect = true;
      else delete out.forceSslRedirect;
    });
    // ingress-nginx: a temporal redirect wins over a permanent one.
    const temporal = read.get('temporal-redirect');
    const permanent = read.get('permanent-redirect');
    const temporalCode = redirectCode(read, 'temporal-redirect-code', 302, 307);
    const permanentCode = redirectCode(read, 'permanent-redirect-code', 301, 308);
    if (temporal !== undefined) {
      const why = redirectUrlProblem(temporal);
      if (why !== undefined) read.problem('temporal-redirect', why);
      else if (temporalCode !== undefined) out.policy.redirect = { code: temporalCode, url: temporal };
      if (permanent !== undefined)
        read.notice(
          'permanent-redirect',
          'ignored: temporal-redirect is also set and wins, as in ingress-nginx',
        );
      return;
    }
    if (permanent !== undefined) {
      const why = redirectUrlProblem(permanent);
      if (why !== undefined) read.problem('permanent-redirect', why);
      else if (permanentCode !== undefined) out.policy.redirect = { code: permanentCode, url: permanent };
    }
  },
};
