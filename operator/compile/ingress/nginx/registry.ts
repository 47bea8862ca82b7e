// Every annotation ingress-nginx documents (and a few older names still found in clusters), with
// Sluice's answer for those no group serves. A name a group serves (GROUPS in index.ts) is not
// listed in UNSERVED: the groups are the one source of what is served, and a unit test checks
// that UNSERVED and the groups together cover NGINX_ANNOTATIONS exactly.
//
// - `refused`: the Ingress is not routed while it carries the annotation (fail closed).
//   `kind: 'snippet'`: nginx configuration or code text, never interpreted; the snippet policy
//   (`refuse`, the default, or `warn`) decides. `kind: 'unsafe'`: serving the Ingress without it
//   would weaken its security (or hand a TLS stream to the wrong party); always refused.
//   `inert`: values that ask for nothing (ingress-nginx's own default or "off"); with one of them
//   the name is only a notice.
// - `ignored`: tuning with no counterpart in Sluice; served without it, with a warning.
// - `not-served`: a feature Sluice does not have (yet); served without it, with a warning.

export type UnservedStatus = 'refused' | 'ignored' | 'not-served';

export interface UnservedEntry {
  readonly status: UnservedStatus;
  /** Only for `refused`. */
  readonly kind?: 'snippet' | 'unsafe';
  /** Why, and what to use instead: one sentence. */
  readonly reason: string;
  /** Values that ask for nothing: not refused, only a notice. */
  readonly inert?: readonly string[];
}

export type SnippetPolicy = 'refuse' | 'warn';

const snippet = (reason: string): UnservedEntry => ({ status: 'refused', kind: 'snippet', reason });
const unsafe = (reason: string, inert?: readonly string[]): UnservedEntry =>
  inert
    ? { status: 'refused', kind: 'unsafe', reason, inert }
    : { status: 'refused', kind: 'unsafe', reason };
const ignored = (reason: string): UnservedEntry => ({ status: 'ignored', reason });
const notServed = (reason: string): UnservedEntry => ({ status: 'not-served', reason });

const SNIPPET =
  'nginx configuration text; Sluice never interprets configuration text: use typed sluice.dev/ or served nginx annotations';
const NOT_YET = 'not served yet';
const NO_TRACING = 'Sluice has no tracing module; use its access log and sluice_* metrics';
const BUFFERING = 'Sluice streams requests and responses without nginx buffers; nothing to tune';
const OFF = ['false', 'off'];

/** Names no group serves, by short name (without the prefix). Sorted. */
export const UNSERVED: Readonly<Record<string, UnservedEntry>> = Object.freeze({
  'add-base-url': ignored('removed from ingress-nginx long ago; it has no effect there either'),
  'affinity-canary-behavior': notServed(NOT_YET),
  'auth-always-set-cookie': notServed('cookies from the external auth response are not passed on'),
  'auth-cache-duration': ignored('auth responses are not cached: every request is checked'),
  'auth-cache-key': ignored('auth responses are not cached: every request is checked'),
  'auth-keepalive': ignored('Sluice pools connections to the auth service itself'),
  'auth-keepalive-requests': ignored('Sluice pools connections to the auth service itself'),
  'auth-keepalive-share-vars': ignored('Sluice pools connections to the auth service itself'),
  'auth-keepalive-timeout': ignored('Sluice pools connections to the auth service itself'),
  'auth-proxy-set-headers': notServed('headers for the auth request from a ConfigMap are not sent'),
  'auth-snippet': snippet(SNIPPET),
  'auth-tls-error-page': unsafe(
    'client certificate authentication is not served; terminate mTLS in front of Sluice',
  ),
  'auth-tls-match-cn': unsafe(
    'client certificate authentication is not served; terminate mTLS in front of Sluice',
  ),
  'auth-tls-pass-certificate-to-upstream': unsafe(
    'client certificate authentication is not served; terminate mTLS in front of Sluice',
    OFF,
  ),
  'auth-tls-secret': unsafe(
    'client certificate authentication is not served; terminate mTLS in front of Sluice',
  ),
  'auth-tls-verify-client': unsafe(
    'client certificate authentication is not served; terminate mTLS in front of Sluice',
    ['off'],
  ),
  'auth-tls-verify-depth': unsafe(
    'client certificate authentication is not served; terminate mTLS in front of Sluice',
  ),
  'base-url-scheme': ignored('removed from ingress-nginx long ago; it has no effect there either'),
  'configuration-snippet': snippet(SNIPPET),
  'connection-proxy-header': ignored('Sluice manages hop-by-hop headers and upstream connections itself'),
  'custom-headers': notServed(NOT_YET),
  'custom-http-errors': notServed('error pages are not intercepted; the backend answer is passed on'),
  'default-backend': notServed('use spec.defaultBackend of the Ingress'),
  'disable-proxy-intercept-errors': ignored('error pages are never intercepted'),
  'enable-global-auth': ignored('Sluice has no global external authentication'),
  'enable-influxdb': ignored('removed from ingress-nginx; use the sluice_* metrics'),
  'enable-modsecurity': unsafe('Sluice has no web application firewall; put one in front of it', OFF),
  'enable-opentelemetry': ignored(NO_TRACING),
  'enable-opentracing': ignored(NO_TRACING),
  'enable-owasp-core-rules': unsafe('Sluice has no web application firewall; put one in front of it', OFF),
  'enable-rewrite-log': ignored('Sluice has no nginx rewrite log'),
  'global-rate-limit': unsafe(
    'global rate limits (memcached) are not served; use limit-rps or limit-rpm (per replica)',
  ),
  'global-rate-limit-ignored-cidrs': unsafe(
    'global rate limits (memcached) are not served; use limit-rps or limit-rpm (per replica)',
  ),
  'global-rate-limit-key': unsafe(
    'global rate limits (memcached) are not served; use limit-rps or limit-rpm (per replica)',
  ),
  'global-rate-limit-window': unsafe(
    'global rate limits (memcached) are not served; use limit-rps or limit-rpm (per replica)',
  ),
  'grpc-backend': notServed('an old name of backend-protocol: GRPC, not served yet'),
  'http2-push-preload': ignored('HTTP/2 server push is obsolete and not sent by Sluice'),
  'influxdb-host': ignored('removed from ingress-nginx; use the sluice_* metrics'),
  'influxdb-measurement': ignored('removed from ingress-nginx; use the sluice_* metrics'),
  'influxdb-port': ignored('removed from ingress-nginx; use the sluice_* metrics'),
  'influxdb-server-name': ignored('removed from ingress-nginx; use the sluice_* metrics'),
  'limit-rate': notServed('response bandwidth limits are not served'),
  'limit-rate-after': notServed('response bandwidth limits are not served'),
  'lua-resty-waf': snippet(
    'Lua WAF code is never run by Sluice; put a web application firewall in front of it',
  ),
  'lua-resty-waf-allow-unknown-content-types': snippet(
    'Lua WAF code is never run by Sluice; put a web application firewall in front of it',
  ),
  'lua-resty-waf-debug': snippet(
    'Lua WAF code is never run by Sluice; put a web application firewall in front of it',
  ),
  'lua-resty-waf-extra-rules': snippet(
    'Lua WAF code is never run by Sluice; put a web application firewall in front of it',
  ),
  'lua-resty-waf-ignore-rulesets': snippet(
    'Lua WAF code is never run by Sluice; put a web application firewall in front of it',
  ),
  'lua-resty-waf-process-multipart-body': snippet(
    'Lua WAF code is never run by Sluice; put a web application firewall in front of it',
  ),
  'lua-resty-waf-score-threshold': snippet(
    'Lua WAF code is never run by Sluice; put a web application firewall in front of it',
  ),
  'mirror-host': notServed('request mirroring is not served'),
  'mirror-request-body': notServed('request mirroring is not served'),
  'mirror-target': notServed('request mirroring is not served'),
  'modsecurity-snippet': snippet(
    'ModSecurity rules text is never interpreted; put a web application firewall in front of Sluice',
  ),
  'modsecurity-transaction-id': snippet('nginx variable text for ModSecurity, which Sluice does not have'),
  'opentelemetry-operation-name': ignored(NO_TRACING),
  'opentelemetry-trust-incoming-span': ignored(NO_TRACING),
  'opentracing-trust-incoming-span': ignored(NO_TRACING),
  'preserve-trailing-slash': notServed(NOT_YET),
  'proxy-buffer-size': ignored(BUFFERING),
  'proxy-buffering': ignored(BUFFERING),
  'proxy-buffers-number': ignored(BUFFERING),
  'proxy-busy-buffers-size': ignored(BUFFERING),
  'proxy-cookie-domain': notServed('Set-Cookie attributes from the backend are passed on unchanged'),
  'proxy-cookie-path': notServed('Set-Cookie attributes from the backend are passed on unchanged'),
  'proxy-http-version': ignored('Sluice speaks HTTP/1.1 to backends'),
  'proxy-max-temp-file-size': ignored(BUFFERING),
  'proxy-redirect-from': notServed('Location headers from the backend are passed on unchanged'),
  'proxy-redirect-to': notServed('Location headers from the backend are passed on unchanged'),
  'proxy-request-buffering': ignored(BUFFERING),
  'proxy-ssl-ciphers': ignored('Sluice uses Node.js TLS defaults towards backends'),
  'proxy-ssl-name': notServed(
    'upstream certificate verification is not served yet; HTTPS upstreams are not verified',
  ),
  'proxy-ssl-protocols': ignored('Sluice uses Node.js TLS defaults towards backends'),
  'proxy-ssl-secret': notServed(
    'upstream TLS settings are not served yet; HTTPS upstreams are not verified and get no client certificate',
  ),
  'proxy-ssl-server-name': notServed(
    'upstream certificate verification is not served yet; HTTPS upstreams are not verified',
  ),
  'proxy-ssl-verify': unsafe(
    'upstream certificate verification is not served yet; the Ingress is not routed rather than sent unverified',
    ['off'],
  ),
  'proxy-ssl-verify-depth': notServed(NOT_YET),
  'relative-redirects': ignored('redirects Sluice writes are absolute'),
  satisfy: unsafe('combining access rules with "any" is not served; each rule applies on its own', ['all']),
  'secure-backends': notServed('an old name of backend-protocol: HTTPS; use sluice.dev/backend-protocol'),
  'server-alias': notServed(`${NOT_YET}; list the extra hosts as rules of the Ingress`),
  'server-snippet': snippet(SNIPPET),
  'session-cookie-conditional-samesite-none': notServed(NOT_YET),
  'session-cookie-domain': notServed(NOT_YET),
  'session-cookie-hash': ignored('removed from ingress-nginx; it has no effect there either'),
  'ssl-ciphers': ignored('Sluice uses Node.js TLS defaults (TLS 1.2 and later, modern ciphers)'),
  'ssl-prefer-server-ciphers': ignored(
    'Sluice uses Node.js TLS defaults (TLS 1.2 and later, modern ciphers)',
  ),
  'stream-snippet': snippet(SNIPPET),
  'upstream-fail-timeout': ignored('removed from ingress-nginx; Sluice follows endpoint readiness'),
  'upstream-hash-by': notServed(
    'hashing on nginx variables is not served; use a RouteRatio with spec.sticky',
  ),
  'upstream-hash-by-subset': notServed(
    'hashing on nginx variables is not served; use a RouteRatio with spec.sticky',
  ),
  'upstream-hash-by-subset-size': notServed(
    'hashing on nginx variables is not served; use a RouteRatio with spec.sticky',
  ),
  'upstream-max-fails': ignored('removed from ingress-nginx; Sluice follows endpoint readiness'),
});

/** Every documented ingress-nginx annotation, by short name, sorted. */
export const NGINX_ANNOTATIONS: readonly string[] = Object.freeze(
  [
    'add-base-url',
    'affinity',
    'affinity-canary-behavior',
    'affinity-mode',
    'allowlist-source-range',
    'app-root',
    'auth-always-set-cookie',
    'auth-cache-duration',
    'auth-cache-key',
    'auth-keepalive',
    'auth-keepalive-requests',
    'auth-keepalive-share-vars',
    'auth-keepalive-timeout',
    'auth-method',
    'auth-proxy-set-headers',
    'auth-realm',
    'auth-request-redirect',
    'auth-response-headers',
    'auth-secret',
    'auth-secret-type',
    'auth-signin',
    'auth-signin-redirect-param',
    'auth-snippet',
    'auth-tls-error-page',
    'auth-tls-match-cn',
    'auth-tls-pass-certificate-to-upstream',
    'auth-tls-secret',
    'auth-tls-verify-client',
    'auth-tls-verify-depth',
    'auth-type',
    'auth-url',
    'backend-protocol',
    'base-url-scheme',
    'canary',
    'canary-by-cookie',
    'canary-by-header',
    'canary-by-header-pattern',
    'canary-by-header-value',
    'canary-weight',
    'canary-weight-total',
    'client-body-buffer-size',
    'configuration-snippet',
    'connection-proxy-header',
    'cors-allow-credentials',
    'cors-allow-headers',
    'cors-allow-methods',
    'cors-allow-origin',
    'cors-expose-headers',
    'cors-max-age',
    'custom-headers',
    'custom-http-errors',
    'default-backend',
    'denylist-source-range',
    'disable-proxy-intercept-errors',
    'enable-access-log',
    'enable-cors',
    'enable-global-auth',
    'enable-influxdb',
    'enable-modsecurity',
    'enable-opentelemetry',
    'enable-opentracing',
    'enable-owasp-core-rules',
    'enable-rewrite-log',
    'force-ssl-redirect',
    'from-to-www-redirect',
    'global-rate-limit',
    'global-rate-limit-ignored-cidrs',
    'global-rate-limit-key',
    'global-rate-limit-window',
    'grpc-backend',
    'http2-push-preload',
    'influxdb-host',
    'influxdb-measurement',
    'influxdb-port',
    'influxdb-server-name',
    'limit-allowlist',
    'limit-burst-multiplier',
    'limit-connections',
    'limit-rate',
    'limit-rate-after',
    'limit-rpm',
    'limit-rps',
    'limit-whitelist',
    'load-balance',
    'lua-resty-waf',
    'lua-resty-waf-allow-unknown-content-types',
    'lua-resty-waf-debug',
    'lua-resty-waf-extra-rules',
    'lua-resty-waf-ignore-rulesets',
    'lua-resty-waf-process-multipart-body',
    'lua-resty-waf-score-threshold',
    'mirror-host',
    'mirror-request-body',
    'mirror-target',
    'modsecurity-snippet',
    'modsecurity-transaction-id',
    'opentelemetry-operation-name',
    'opentelemetry-trust-incoming-span',
    'opentracing-trust-incoming-span',
    'permanent-redirect',
    'permanent-redirect-code',
    'preserve-trailing-slash',
    'proxy-body-size',
    'proxy-buffer-size',
    'proxy-buffering',
    'proxy-buffers-number',
    'proxy-busy-buffers-size',
    'proxy-connect-timeout',
    'proxy-cookie-domain',
    'proxy-cookie-path',
    'proxy-http-version',
    'proxy-max-temp-file-size',
    'proxy-next-upstream',
    'proxy-next-upstream-timeout',
    'proxy-next-upstream-tries',
    'proxy-read-timeout',
    'proxy-redirect-from',
    'proxy-redirect-to',
    'proxy-request-buffering',
    'proxy-send-timeout',
    'proxy-ssl-ciphers',
    'proxy-ssl-name',
    'proxy-ssl-protocols',
    'proxy-ssl-secret',
    'proxy-ssl-server-name',
    'proxy-ssl-verify',
    'proxy-ssl-verify-depth',
    'relative-redirects',
    'rewrite-target',
    'satisfy',
    'secure-backends',
    'server-alias',
    'server-snippet',
    'service-upstream',
    'session-cookie-change-on-failure',
    'session-cookie-conditional-samesite-none',
    'session-cookie-domain',
    'session-cookie-expires',
    'session-cookie-hash',
    'session-cookie-max-age',
    'session-cookie-name',
    'session-cookie-path',
    'session-cookie-samesite',
    'session-cookie-secure',
    'ssl-ciphers',
    'ssl-passthrough',
    'ssl-prefer-server-ciphers',
    'ssl-redirect',
    'stream-snippet',
    'temporal-redirect',
    'temporal-redirect-code',
    'upstream-fail-timeout',
    'upstream-hash-by',
    'upstream-hash-by-subset',
    'upstream-hash-by-subset-size',
    'upstream-max-fails',
    'upstream-vhost',
    'use-regex',
    'whitelist-source-range',
    'x-forwarded-prefix',
  ].sort(),
);

const KNOWN: ReadonlySet<string> = new Set(NGINX_ANNOTATIONS);

export function isKnownNginxAnnotation(name: string): boolean {
  return KNOWN.has(name);
}

/** The known name closest to a misspelt one (edit distance at most 3), if any. */
export function closestNginxAnnotation(name: string): string | undefined {
  if (name.length > 64) return undefined;
  let best: string | undefined;
  let bestDistance = 4;
  for (const known of NGINX_ANNOTATIONS) {
    if (Math.abs(known.length - name.length) >= bestDistance) continue;
    const d = editDistance(name, known, bestDistance);
    if (d < bestDistance) {
      best = known;
      bestDistance = d;
    }
  }
  return best;
}

/** Levenshtein distance, or `limit` when it is at least that (bounded work for long names). */
function editDistance(a: string, b: string, limit: number): number {
  let prev = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    let rowMin = i;
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      row[j] = Math.min(prev[j] + 1, row[j - 1] + 1, prev[j - 1] + cost);
      if (row[j] < rowMin) rowMin = row[j];
    }
    if (rowMin >= limit) return limit;
    prev = row;
  }
  return Math.min(prev[b.length], limit);
}
