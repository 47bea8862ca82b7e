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
  /** Longest path first; at equal length `Exact` before `Prefix`. */
  routes: Route[];
}

export interface Route {
  /** Normalised: starts with `/`; a `Prefix` path has no trailing slash except the root `/`. */
  path: string;
  pathType: 'Exact' | 'Prefix';
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
  // -- redirects --
  // -- access --
  // -- cors --
  // -- auth --
  // -- limits --
  // -- rewrite --
  // -- upstream --
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
}

export interface Override {
  header?: { name: string; value: string };
  cookie?: { name: string; value: string };
  /** Key into `DataplaneConfig.backends`. */
  backend: string;
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
