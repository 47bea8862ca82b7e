// The compiled config: the one contract between the operator (which produces it) and the data
// plane (which serves it). `schema.ts` holds the JSON Schema both sides validate with; the two
// files change together.
//
// Everything here is plain JSON, sorted and canonical, so the same Kubernetes objects always give
// byte-identical config and the same `version`.

export const CONFIG_API_VERSION = 'sluice.dev/dataplane/v1';

export interface DataplaneConfig {
  apiVersion: typeof CONFIG_API_VERSION;
  /** `sha256:<hex>` of the canonical JSON of this object with `version` set to "". */
  version: string;
  /**
   * Exact hosts first (sorted), then wildcard hosts (sorted), then at most one `any` host.
   * Host names are lower-case, without port or trailing dot.
   */
  virtualHosts: VirtualHost[];
  /** Used when no virtual host or route matches; absent means 404. */
  defaultRoute?: DefaultRoute;
  /** Upstream backends by key `<namespace>/<service>:<port>` (port as written in the Ingress). */
  backends: Record<string, Backend>;
  /** TLS material by key `<namespace>/<secretName>`; the data plane has no API access. */
  certificates: Record<string, Certificate>;
  /** Key into `certificates` served when no SNI name matches (else the data plane's own). */
  defaultCertificate?: string;
}

export interface VirtualHost {
  /** `exact`: `shop.example.com`; `wildcard`: `*.example.com` (one label); `any`: `*`. */
  kind: 'exact' | 'wildcard' | 'any';
  host: string;
  /** Present when an Ingress lists this host under `spec.tls` with a usable Secret. */
  tls?: { certificate: string };
  /**
   * Longest path first; at equal length `Exact`, then `Prefix`, then `Regex`; `Regex` routes of
   * equal length in descending path order (ingress-nginx's location order, see order.ts).
   */
  routes: Route[];
  /**
   * TLS passthrough (exact hosts only; then `routes` is empty and `tls` absent): a TLS connection
   * whose ClientHello names this host is not terminated; its bytes are piped to an endpoint of
   * `backend` (key into `DataplaneConfig.backends`).
   */
  passthrough?: { backend: string; source: { ingress: string } };
}

export interface Route {
  /**
   * Normalised: starts with `/`; a `Prefix` path has no trailing slash except the root `/`. For
   * `Regex`, an RE2 pattern matched case-insensitively from the start of the path (nginx's
   * `location ~* "^<path>"`): Exact routes are tried first, then Regex routes in order (the first
   * that matches wins), then the longest Prefix.
   */
  path: string;
  pathType: 'Exact' | 'Prefix' | 'Regex';
  source: RouteSource;
  /** HTTP requests for this route are redirected to HTTPS (TLS host, not opted out). */
  httpsRedirect: boolean;
  policy: RoutePolicy;
  split: Split;
}

export interface DefaultRoute {
  source: { ingress: string };
  policy: RoutePolicy;
  split: Split;
}

/** Where a route came from, for tracing (`/debug/explain`, logs, metrics). */
export interface RouteSource {
  /** `<namespace>/<name>` of the Ingress. */
  ingress: string;
  /** Index into `spec.rules`. */
  rule: number;
  /** Index into `spec.rules[rule].http.paths`. */
  path: number;
}

/** Per-route settings, from typed `sluice.dev/*` annotations (defaults in docs/annotations.md). */
export interface RoutePolicy {
  /** Largest request body accepted (413 above it, chunked bodies included). */
  maxBodyBytes: number;
  /** Upstream connect timeout (504 when exceeded). */
  connectTimeoutMs: number;
  /** Time for the upstream to send response headers (504 when exceeded). */
  responseTimeoutMs: number;
  /** Protocol spoken to the upstream endpoints. */
  upstreamProtocol: 'http' | 'https';
  // Optional features, each absent when off (mostly from ingress-nginx annotations, see
  // docs/migrate-from-ingress-nginx.md). The data plane turns each present one into a step of the
  // request path (dataplane/policy/), in ingress-nginx's phase order.
  /** Every request is answered with this redirect: `url` (absolute http(s)) sent as written. */
  redirect?: { code: number; url: string };
  /**
   * Every request is answered with a redirect to the same path and query on `host`, in the
   * client's scheme, one trailing `/` of the path-and-query dropped (ingress-nginx's
   * `from-to-www-redirect`).
   */
  wwwRedirect?: { code: number; host: string };
  /**
   * Client addresses (after trusted proxies) as CIDRs: one in `deny` is refused with 403, then,
   * when `allow` is present, one outside it is too.
   */
  sourceRanges?: { allow?: string[]; deny?: string[] };
  /** CORS: preflights from an allowed origin answered 204; its other requests get the headers. */
  cors?: CorsPolicy;
  /** HTTP Basic authentication: 401 with `WWW-Authenticate: Basic realm="<realm>"` unless a user's password matches. */
  basicAuth?: BasicAuthPolicy;
  /** External authentication: a subrequest to `url` decides (2xx allow, 401/403 answered, else 500). */
  externalAuth?: ExternalAuthPolicy;
  /** Request rate and concurrency limits per client address (per data-plane replica). */
  limits?: LimitsPolicy;
  /**
   * Path (and query) sent upstream instead of the request's: `$1`..`$9` are the groups of the
   * route's `Regex` path, matched case-insensitively anywhere in the request path (nginx's
   * `rewrite "(?i)<path>" <target> break`). The request's query is appended (after `&` when the
   * target has one), unless the target ends with `?`.
   */
  rewriteTarget?: string;
  /** Requests for exactly `/` are answered 302 to this path. */
  appRoot?: string;
  /** Value of the `X-Forwarded-Prefix` request header sent upstream (replaces the client's). */
  xForwardedPrefix?: string;
  /** Host header sent upstream instead of the client's (`upstream-vhost`). */
  upstreamHost?: string;
  /** Endpoint stickiness by cookie: one endpoint of the chosen backend per client. */
  affinity?: Affinity;
  /** `false`: no access log line for this route's requests. */
  accessLog?: false;
}

/** Cookie affinity to one endpoint (not the split's sticky cohorts, which pick a backend). */
export interface Affinity {
  /**
   * `balanced`: the cookie holds a random key that rendezvous hashing maps onto the current
   * endpoints (scaling moves a share of clients); `persistent`: the cookie names one endpoint (by
   * hash, never its address) and is re-issued only when that endpoint is gone.
   */
  mode: 'balanced' | 'persistent';
  cookie: AffinityCookie;
}

export interface AffinityCookie {
  name: string;
  /** Cookie `Path`; absent: the route's path. */
  path?: string;
  /** `Max-Age` seconds. */
  maxAgeSeconds?: number;
  /** `Expires` as now plus this many seconds. */
  expiresSeconds?: number;
  sameSite?: 'Lax' | 'None' | 'Strict';
  /** `Secure` also on plain HTTP requests (it is always set over HTTPS). */
  secure?: true;
}

export interface BasicAuthPolicy {
  realm: string;
  /** Sorted by name; `hash` is bcrypt (`$2a$`/`$2b$`/`$2y$`), `$apr1$` or `{SHA}`, never a password. Empty denies everyone. */
  users: Array<{ hash: string; name: string }>;
}

export interface ExternalAuthPolicy {
  /** Method of the subrequest (default GET). */
  method: string;
  /** Sent as `X-Auth-Request-Redirect` (default: the request URI). */
  requestRedirect?: string;
  /** Headers copied from the auth answer onto the upstream request (lower case, sorted). */
  responseHeaders: string[];
  /** Where a 401 is redirected (302), with `rd=<original URL>` appended. */
  signin?: string;
  /** Whole subrequest, connection included. */
  timeoutMs: number;
  /** http(s) URL of the auth service. */
  url: string;
}

export interface LimitsPolicy {
  /** Requests in progress per client address (limit-connections); absent = no limit. */
  connections?: number;
  /** CIDRs exempt from every limit. */
  exempt: string[];
  /** Leaky buckets as nginx limit_req with nodelay: `rate` requests per `per`, `burst` extra at once. */
  rates: Array<{ burst: number; per: 'minute' | 'second'; rate: number }>;
}

export interface CorsPolicy {
  allowCredentials: boolean;
  /** Header values as written (validated token lists). */
  allowHeaders: string;
  allowMethods: string;
  /** `['*']`, or origins (`https://app.example.com`, `https://*.example.com`, `null`), case-insensitive. */
  allowOrigins: string[];
  exposeHeaders?: string;
  maxAgeSeconds: number;
}

export interface Split {
  /** `weighted`: smooth weighted round robin; `sticky`: client key hashed to buckets 0..9999. */
  mode: 'weighted' | 'sticky';
  /** Required when mode is `sticky`: exactly one of cookie or header. */
  sticky?: { cookie?: { name: string }; header?: { name: string } };
  /** Checked in order before weights; the first match picks its backend. */
  overrides: Override[];
  /** In RouteRatio list order (sticky buckets depend on it). A plain Ingress backend is one entry of weight 1. */
  backends: SplitBackend[];
  /** `<namespace>/<name>` of the RouteRatio that produced this split, if any. */
  routeRatio?: string;
}

export interface SplitBackend {
  /** Service name, for logs and metrics. */
  name: string;
  /** Key into `DataplaneConfig.backends`. */
  backend: string;
  weight: number;
  /** A canary backend (from an ingress-nginx canary Ingress); overrides may choose the group. */
  canary?: true;
}

/**
 * A header (exact `value`, or `pattern`: an RE2 regular expression searched in the value) or a
 * cookie (exact value); when it matches, `backend`, or one of the split's backends of `group`
 * (`canary`: those marked canary; `primary`: the others) chosen by weight.
 */
export interface Override {
  header?: { name: string; value?: string; pattern?: string };
  cookie?: { name: string; value: string };
  /** Key into `DataplaneConfig.backends`. */
  backend?: string;
  group?: 'canary' | 'primary';
}

export interface Backend {
  service: { namespace: string; name: string; port: string };
  /** Empty when the Service is missing or has no usable endpoints: its share answers 503. */
  endpoints: Endpoint[];
}

/**
 * One address of an EndpointSlice. The compiler keeps ready endpoints, or serving-but-terminating
 * ones when none are ready; the flags say which.
 */
export interface Endpoint {
  address: string;
  port: number;
  ready: boolean;
  serving: boolean;
  terminating: boolean;
}

export interface Certificate {
  /** PEM certificate chain (`tls.crt`). */
  certPem: string;
  /** PEM private key (`tls.key`). */
  keyPem: string;
}
