// ingress-nginx's upstream annotations: body size, timeouts, backend protocol, the Host sent
// upstream, cookie affinity to one endpoint, balancing and retries, and the access log switch.
// Units are ingress-nginx's: timeouts in whole seconds, sizes in nginx's size syntax.

import type { Affinity, AffinityCookie } from '../../../../contract/types.ts';
import { quote } from '../../core/objects.ts';
import type { NginxGroup, NginxReader, SettingsBuilder } from './group.ts';

const MAX_BODY_BYTES = 2 ** 40;
const MAX_CONNECT_S = 300;
const MAX_READ_S = 3_600;
const MAX_COOKIE_SECONDS = 315_360_000;

/** nginx's size syntax: bytes, or `k`/`m`/`g` (binary, either case). */
function nginxSize(value: string): number | undefined {
  const m = /^([0-9]{1,13})([kKmMgG]?)$/.exec(value);
  if (!m) return undefined;
  const unit = m[2].toLowerCase();
  return Number(m[1]) * (unit === 'k' ? 1024 : unit === 'm' ? 1024 ** 2 : unit === 'g' ? 1024 ** 3 : 1);
}

/** Whole seconds as ingress-nginx writes them (`"60"`); nginx's `60s` is taken too. */
function seconds(value: string): number | undefined {
  const m = /^([0-9]{1,7})s?$/.exec(value);
  return m ? Number(m[1]) : undefined;
}

function bool(read: NginxReader, name: string): boolean | undefined {
  const value = read.get(name);
  if (value === undefined) return undefined;
  if (value === 'true' || value === 'false') return value === 'true';
  read.problem(name, `must be "true" or "false", not ${quote(value)}`);
  return undefined;
}

const COOKIE_NAME = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]{1,128}$/;
const COOKIE_PATH = /^\/[A-Za-z0-9\-._~/]{0,255}$/;
const HOST = /^[A-Za-z0-9](?:[-A-Za-z0-9.]{0,251}[A-Za-z0-9])?(?::[0-9]{1,5})?$/;

const NAMES = [
  'proxy-body-size',
  'proxy-connect-timeout',
  'proxy-read-timeout',
  'proxy-send-timeout',
  'client-body-buffer-size',
  'backend-protocol',
  'upstream-vhost',
  'affinity',
  'affinity-mode',
  'session-cookie-name',
  'session-cookie-path',
  'session-cookie-max-age',
  'session-cookie-expires',
  'session-cookie-samesite',
  'session-cookie-secure',
  'session-cookie-change-on-failure',
  'load-balance',
  'proxy-next-upstream',
  'proxy-next-upstream-tries',
  'proxy-next-upstream-timeout',
  'enable-access-log',
  'service-upstream',
] as const;

const NOT_YET = ['GRPC', 'GRPCS', 'H2C', 'AUTO_HTTP', 'FCGI', 'AJP'];

function parse(read: NginxReader, out: SettingsBuilder): void {
  const policy = out.policy;

  const body = read.get('proxy-body-size');
  if (body !== undefined) {
    const bytes = nginxSize(body);
    if (bytes === undefined)
      read.problem('proxy-body-size', `must be a size like 8m, 512k or 1048576, not ${quote(body)}`);
    else if (bytes > MAX_BODY_BYTES) read.problem('proxy-body-size', 'must be at most 1024g');
    else if (bytes === 0) {
      policy.maxBodyBytes = MAX_BODY_BYTES;
      read.notice(
        'proxy-body-size',
        '"0" (unlimited in nginx) is served as the largest limit Sluice has, 1024g',
      );
    } else policy.maxBodyBytes = bytes;
  }

  const connect = read.get('proxy-connect-timeout');
  if (connect !== undefined) {
    const s = seconds(connect);
    if (s === undefined)
      read.problem('proxy-connect-timeout', `must be whole seconds like "10", not ${quote(connect)}`);
    else if (s < 1 || s > MAX_CONNECT_S)
      read.problem('proxy-connect-timeout', `must be between 1 and ${MAX_CONNECT_S} seconds`);
    else policy.connectTimeoutMs = s * 1000;
  }
  const readTimeout = read.get('proxy-read-timeout');
  if (readTimeout !== undefined) {
    const s = seconds(readTimeout);
    if (s === undefined)
      read.problem('proxy-read-timeout', `must be whole seconds like "60", not ${quote(readTimeout)}`);
    else if (s < 1 || s > MAX_READ_S)
      read.problem('proxy-read-timeout', `must be between 1 and ${MAX_READ_S} seconds`);
    else policy.responseTimeoutMs = s * 1000;
  }
  const send = read.get('proxy-send-timeout');
  if (send !== undefined) {
    const s = seconds(send);
    if (s === undefined)
      read.problem('proxy-send-timeout', `must be whole seconds like "60", not ${quote(send)}`);
    else if (s < 1 || s > MAX_READ_S)
      read.problem('proxy-send-timeout', `must be between 1 and ${MAX_READ_S} seconds`);
  }
  const buffer = read.get('client-body-buffer-size');
  if (buffer !== undefined && nginxSize(buffer) === undefined)
    read.notice(
      'client-body-buffer-size',
      `ignored (and not a size: ${quote(buffer)}); Sluice streams request bodies`,
    );

  const protocol = read.get('backend-protocol');
  if (protocol !== undefined) {
    // ingress-nginx upper-cases the value before it compares.
    const upper = protocol.toUpperCase();
    if (upper === 'HTTP' || upper === 'HTTPS') policy.upstreamProtocol = upper === 'HTTP' ? 'http' : 'https';
    else if (NOT_YET.includes(upper))
      read.problem(
        'backend-protocol',
        `${upper} is not served yet; Sluice speaks HTTP or HTTPS to endpoints`,
      );
    else
      read.problem(
        'backend-protocol',
        `must be HTTP or HTTPS (GRPC, GRPCS, H2C not served yet), not ${quote(protocol)}`,
      );
  }

  const vhost = read.get('upstream-vhost');
  if (vhost !== undefined) {
    if (vhost.includes('$'))
      read.problem(
        'upstream-vhost',
        'nginx variables are not served; give a host name, optionally with :port',
      );
    else if (!HOST.test(vhost))
      read.problem('upstream-vhost', `must be a host name, optionally with :port, not ${quote(vhost)}`);
    else policy.upstreamHost = vhost.toLowerCase();
  }

  const affinity = readAffinity(read);
  if (affinity !== undefined) policy.affinity = affinity;

  const balance = read.get('load-balance');
  if (balance !== undefined) {
    if (balance === 'ewma')
      read.notice(
        'load-balance',
        "ewma is served as least request over two random choices, Sluice's balancer",
      );
    else if (balance !== 'round_robin')
      read.problem('load-balance', `must be "round_robin" or "ewma", not ${quote(balance)}`);
  }

  const next = read.get('proxy-next-upstream');
  if (next !== undefined) {
    const words = next.split(/ +/);
    const known = new Set([
      'error',
      'timeout',
      'invalid_header',
      'http_500',
      'http_502',
      'http_503',
      'http_504',
      'http_403',
      'http_404',
      'http_429',
      'non_idempotent',
      'off',
    ]);
    if (next.length > 200 || words.some((w) => !known.has(w)))
      read.problem(
        'proxy-next-upstream',
        `must be nginx proxy_next_upstream conditions ("error timeout", "off", ...), not ${quote(next)}`,
      );
    else if (
      !(words.length === 1 && words[0] === 'off') &&
      words.some((w) => w !== 'error' && w !== 'timeout')
    )
      read.notice(
        'proxy-next-upstream',
        'Sluice retries once on another endpoint only when the connection failed before the request was sent; the other conditions are not served',
      );
    else if (words.includes('off'))
      read.notice(
        'proxy-next-upstream',
        '"off" is not served: Sluice still retries a failed connection once',
      );
  }
  const tries = read.get('proxy-next-upstream-tries');
  if (tries !== undefined) {
    if (!/^[0-9]{1,3}$/.test(tries))
      read.problem('proxy-next-upstream-tries', `must be a number, not ${quote(tries)}`);
    else if (tries !== '2')
      read.notice(
        'proxy-next-upstream-tries',
        'Sluice makes at most 2 tries (one retry after a failed connection)',
      );
  }
  const nextTimeout = read.get('proxy-next-upstream-timeout');
  if (nextTimeout !== undefined) {
    if (seconds(nextTimeout) === undefined)
      read.problem('proxy-next-upstream-timeout', `must be whole seconds, not ${quote(nextTimeout)}`);
    else if (seconds(nextTimeout) !== 0)
      read.notice('proxy-next-upstream-timeout', 'not served: retries are bounded by the connect timeout');
  }

  const log = bool(read, 'enable-access-log');
  if (log === false) policy.accessLog = false;

  if (bool(read, 'service-upstream') === true) out.serviceUpstream = true;
}

function readAffinity(read: NginxReader): Affinity | undefined {
  const type = read.get('affinity');
  const mode = read.get('affinity-mode');
  if (mode !== undefined && mode !== 'balanced' && mode !== 'persistent')
    read.problem('affinity-mode', `must be "balanced" or "persistent", not ${quote(mode)}`);
  const name = read.get('session-cookie-name');
  if (name !== undefined && !COOKIE_NAME.test(name))
    read.problem(
      'session-cookie-name',
      `must be a cookie name (letters, digits and !#$%&'*+-.^_\`|~, 1-128), not ${quote(name)}`,
    );
  const path = read.get('session-cookie-path');
  if (path !== undefined && !COOKIE_PATH.test(path))
    read.problem(
      'session-cookie-path',
      `must be a plain path like /app (letters, digits, -._~/), not ${quote(path)}`,
    );
  const cookieSeconds = (n: string): number | undefined => {
    const v = read.get(n);
    if (v === undefined) return undefined;
    if (!/^[0-9]{1,10}$/.test(v) || Number(v) < 1 || Number(v) > MAX_COOKIE_SECONDS) {
      read.problem(n, `must be seconds from 1 to ${MAX_COOKIE_SECONDS}, not ${quote(v)}`);
      return undefined;
    }
    return Number(v);
  };
  const maxAge = cookieSeconds('session-cookie-max-age');
  const expires = cookieSeconds('session-cookie-expires');
  const sameSite = read.get('session-cookie-samesite');
  // Browsers take these three; ingress-nginx matches them case-insensitively.
  const site =
    sameSite === undefined
      ? undefined
      : ['Lax', 'None', 'Strict'].find((s) => s.toLowerCase() === sameSite.toLowerCase());
  if (sameSite !== undefined && site === undefined)
    read.problem('session-cookie-samesite', `must be None, Lax or Strict, not ${quote(sameSite)}`);
  const secure = bool(read, 'session-cookie-secure');
  const change = bool(read, 'session-cookie-change-on-failure');
  if (type === undefined) return undefined;
  if (type !== 'cookie') {
    read.problem('affinity', `must be "cookie" (the only affinity type), not ${quote(type)}`);
    return undefined;
  }
  if (change === true)
    read.notice(
      'session-cookie-change-on-failure',
      'not served: after a failed connection the retry goes to another endpoint, the cookie is kept',
    );
  // Keys in sorted order (see emit.ts).
  const sorted: Record<string, unknown> = {};
  if (expires !== undefined) sorted.expiresSeconds = expires;
  if (maxAge !== undefined) sorted.maxAgeSeconds = maxAge;
  sorted.name = name !== undefined && COOKIE_NAME.test(name) ? name : 'INGRESSCOOKIE';
  if (path !== undefined && COOKIE_PATH.test(path)) sorted.path = path;
  if (site !== undefined) sorted.sameSite = site;
  if (secure === true) sorted.secure = true;
  return {
    cookie: sorted as unknown as AffinityCookie,
    mode: mode === 'persistent' ? 'persistent' : 'balanced',
  };
}

export const upstreamGroup: NginxGroup = {
  names: NAMES,
  differences: {
    'proxy-body-size': '"0" (unlimited) is served as 1024g, the largest limit Sluice has.',
    'proxy-read-timeout':
      'Bounds the wait for response headers and each pause between response body chunks, as nginx.',
    'proxy-send-timeout':
      "Checked but not applied: the request body is bounded by the data plane's --request-timeout.",
    'client-body-buffer-size': 'No effect: Sluice streams request bodies and never buffers them to disk.',
    'load-balance':
      'Both values are served by least request over two random choices; ewma has no separate algorithm.',
    'proxy-next-upstream':
      'Sluice retries once on another endpoint when the connection failed before the request was sent; other conditions are not served.',
    'proxy-next-upstream-tries': 'At most 2 tries, whatever the value.',
    'proxy-next-upstream-timeout': 'Not applied; the connect timeout bounds each try.',
    'session-cookie-change-on-failure':
      '"true" is not served: after a failed try the retry goes to another endpoint and the cookie is kept.',
    'backend-protocol':
      'HTTP and HTTPS; GRPC, GRPCS, H2C, AUTO_HTTP, FCGI and AJP are not served yet (the Ingress is not routed).',
    affinity: 'Over WebSocket upgrades the cookie is read but not issued.',
    'service-upstream':
      "A Service split by a RouteRatio is routed by the split, to endpoints; on a canary Ingress the primary's setting applies.",
  },
  parse,
};
