// What an Ingress's annotations set, for every route of the Ingress: the route policy the data
// plane applies and what the compiler itself acts on. Parsed by annotations.ts (`sluice.dev/*`)
// and nginx/ (`nginx.ingress.kubernetes.io/*`).

import type { RoutePolicy } from '../../../contract/types.ts';

export interface IngressSettings {
  policy: RoutePolicy;
  /** Redirect HTTP to HTTPS on TLS hosts. */
  sslRedirect: boolean;
  /** An ingress-nginx canary Ingress (`canary: "true"`): its paths attach to the primary's routes. */
  canary?: CanarySettings;
  /**
   * ingress-nginx's regex mode (`use-regex`, or a `rewrite-target`): the Ingress's paths are RE2
   * patterns, and every path of its hosts is matched as `~* "^<path>"` (see vhosts.ts).
   */
  regexPaths?: boolean;
  /** Redirect HTTP to HTTPS even on hosts without TLS in the Ingress (TLS ended in front). */
  forceSslRedirect?: boolean;
  /** ingress-nginx's `service-upstream`: backends are the Services' ClusterIPs, not their endpoints. */
  serviceUpstream?: boolean;
  /**
   * `from-to-www-redirect`: each exact host of the Ingress also serves its `www.` twin (or the
   * name without `www.`) as a redirect to itself, unless an Ingress routes that name (records.ts).
   */
  fromToWww?: boolean;
  /**
   * `ssl-passthrough`: each (exact) host of the Ingress is served as TLS passthrough to the
   * backend of its `/` path, never terminated (vhosts.ts); no other Ingress may route the host.
   */
  passthrough?: boolean;
  /** Basic auth from a Secret: resolved into `policy.basicAuth` when the Secret is read (auth-secret.ts). */
  basicAuth?: BasicAuthSettings;
}

export interface BasicAuthSettings {
  /** The Secret's name and, when written as `namespace/name`, its namespace. */
  secret: { namespace?: string; name: string };
  /** `auth-file`: key `auth` holds htpasswd lines; `auth-map`: each key is a user, its value the hash. */
  secretType: 'auth-file' | 'auth-map';
  realm: string;
}

/** The settings being built: the policy is a fresh copy each annotation group may add its fields to. */
export interface SettingsBuilder extends IngressSettings {
  policy: RoutePolicy;
}

/** How a canary Ingress takes traffic from its primary (ingress-nginx's precedence: header, cookie, weight). */
export interface CanarySettings {
  /** Share of the requests no header or cookie decides: `weight` out of `total`. */
  weight: number;
  total: number;
  /** Lower-case header name; `value` (exact) or `pattern` (RE2, searched), else "always"/"never". */
  header?: { name: string; value?: string; pattern?: string };
  /** Cookie name: "always" or "never". */
  cookie?: string;
}
