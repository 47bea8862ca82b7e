// The compiler's public contract, shared by the operator (operator/) and the admission webhook
// (webhooks/). Implementations live beside this file; `index.ts` re-exports them.
//
//   compile(snapshot, options): CompileOutcome           pure, deterministic, never throws
//   createCompiler(options): Compiler                     the same, reusing work between snapshots
//   buildClaimIndex(snapshot, options): ClaimIndex        what the webhook checks against
//   isSluiceIngress(ingress, ingressClasses, options)     class selection, same as compile
//   validateIngress(ingress): Problem[]                   hosts, paths, sluice.dev/ annotations
//   validateRouteRatio(rr): Problem[]                     rules the CRD schema cannot express

import type {
  V1EndpointSlice,
  V1Ingress,
  V1IngressClass,
  V1ObjectMeta,
  V1Secret,
  V1Service,
} from '@kubernetes/client-node';
import type { DataplaneConfig } from '../../contract/types.ts';

export const CONTROLLER_NAME = 'sluice.dev/ingress-controller';
export const DEFAULT_CLASS_NAME = 'sluice';
/** `spec.controller` of ingress-nginx's IngressClasses, served too in ingress-nginx mode. */
export const INGRESS_NGINX_CONTROLLER = 'k8s.io/ingress-nginx';
export const RR_GROUP = 'sluice.dev';
export const RR_VERSION = 'v1alpha1';

export interface RouteRatioPort {
  number?: number;
  name?: string;
}

export interface RouteRatioSpec {
  service: { name: string; port: RouteRatioPort };
  ingresses?: string[];
  backends: Array<{ name: string; port: RouteRatioPort; weight: number }>;
  sticky?: { cookie?: { name: string }; header?: { name: string } };
  overrides?: Array<{
    header?: { name: string; value: string };
    cookie?: { name: string; value: string };
    backend: string;
  }>;
}

export interface Condition {
  type: string;
  status: 'True' | 'False' | 'Unknown';
  reason: string;
  message: string;
  observedGeneration: number;
  /** Set by the operator when the status changes; the compiler leaves it out. */
  lastTransitionTime?: string;
}

export interface RouteRatioBackendStatus {
  name: string;
  weight: number;
  /** Share of traffic in percent, rounded to two decimals. */
  percent: number;
  readyEndpoints: number;
}

export interface RouteRatioStatus {
  observedGeneration?: number;
  conditions?: Condition[];
  backends?: RouteRatioBackendStatus[];
  summary?: string;
}

export interface RouteRatio {
  apiVersion: string;
  kind: 'RouteRatio';
  metadata: V1ObjectMeta;
  spec: RouteRatioSpec;
  status?: RouteRatioStatus;
}

/**
 * Everything the compiler reads. Order of the arrays never matters.
 *
 * Objects are treated as immutable: the compiler never changes them, and a long-lived Compiler
 * (createCompiler) assumes that an object it has seen still holds what it held then. The operator
 * deep-freezes every cached API object and replaces, never edits, a changed one. A snapshot is
 * expected to name each object once (namespace/name per kind); one that does not is still
 * compiled correctly, only without reuse.
 */
export interface Snapshot {
  ingressClasses: V1IngressClass[];
  ingresses: V1Ingress[];
  services: V1Service[];
  endpointSlices: V1EndpointSlice[];
  /** TLS Secrets referenced by Ingresses (others may be present and are ignored). */
  secrets: V1Secret[];
  routeRatios: RouteRatio[];
  /**
   * Namespaces being deleted (`terminating: true`); others may be listed or left out. Absent: no
   * namespace is terminating. See `namespaceState` for how a Namespace object reads.
   */
  namespaces?: NamespaceState[];
}

/**
 * What routing needs of a Namespace. Ingresses and RouteRatios in a terminating namespace, like
 * those with their own `deletionTimestamp`, are released: they hold no claims and route nothing.
 */
export interface NamespaceState {
  name: string;
  terminating: boolean;
}

export interface CompileOptions {
  /** `spec.controller` of IngressClasses Sluice serves. Default CONTROLLER_NAME. */
  controllerName?: string;
  /** Class name also accepted through the legacy `kubernetes.io/ingress.class` annotation. Default `sluice`. */
  className?: string;
  /** `strict` (default): a host belongs to the namespace of its oldest Ingress. `shared`: any namespace may add paths. */
  hostOwnership?: 'strict' | 'shared';
  /** `<namespace>/<name>` of a TLS Secret in the snapshot used as the default certificate. */
  defaultCertificateSecret?: string;
  /**
   * ingress-nginx mode: the class names of ingress-nginx that Sluice serves too (by
   * `ingressClassName`, also without an IngressClass object, and by the legacy annotation), besides
   * every IngressClass whose controller is INGRESS_NGINX_CONTROLLER. Absent or empty: mode off.
   */
  ingressNginxClassNames?: string[];
  /**
   * ingress-nginx annotations that are nginx text (`configuration-snippet`, ...): `refuse` (default)
   * leaves the Ingress out; `warn` serves it without them. Never interpreted either way.
   */
  nginxSnippets?: 'refuse' | 'warn';
}

/** Conditions Accepted and ResolvedRefs (the operator adds Programmed), backends and summary. */
export interface CompiledRouteRatioStatus {
  observedGeneration: number;
  conditions: Condition[];
  backends: RouteRatioBackendStatus[];
  summary: string;
}

export interface CompiledIngressStatus {
  /** Number of (host, path) routes of this Ingress that made it into the config. */
  routes: number;
  /**
   * Routes left out, each with the reason (conflict, foreign host, invalid path, ...). A route to a
   * missing Service stays in the config with no endpoints (its requests answer 503) and gets a
   * Warning Event instead.
   */
  rejected: Array<{ host: string; path: string; pathType: string; reason: string; message: string }>;
}

export interface ObjectRef {
  kind: 'Ingress' | 'RouteRatio' | 'IngressClass' | 'Service' | 'Secret';
  namespace?: string;
  name: string;
  uid?: string;
}

export interface CompileEvent {
  type: 'Normal' | 'Warning';
  /** CamelCase, e.g. `PathConflict`, `HostOwnedByOtherNamespace`, `SecretNotFound`, `ServiceNotFound`. */
  reason: string;
  message: string;
  object: ObjectRef;
}

/**
 * A compiler that keeps what it derived from each input object between compiles and redoes only
 * what depends on the objects added or removed (by identity) since the previous snapshot; what it
 * kept for an object is let go with the first snapshot that no longer holds it. `compile(s)` gives
 * the same output as a fresh `compile(s, options)` (JSON-identical config, statuses and events),
 * and a config piece (each VirtualHost, Backend and Certificate, the default route) whose inputs
 * did not change is the very object of the previous result, so comparing and hashing configs
 * costs little. One snapshot at a time: compile is synchronous and not reentrant.
 *
 * Results are shared between compiles and must never be changed by the caller.
 */
export interface Compiler {
  compile(snapshot: Snapshot): CompileOutcome;
  readonly stats: CompilerStats;
}

export interface CompilerStats {
  /** Compiles from nothing: the first, and any after a malformed snapshot or a failure. */
  fullCompiles: number;
  /** Compiles that updated the previous one. */
  incrementalCompiles: number;
  /** Updates that threw and were redone from nothing (a compiler bug; the result was still right). */
  recovered: number;
  /** Compiles from nothing that threw (a compiler bug): they returned `{ ok: false }`. */
  failures: number;
}

/**
 * What `compile` and `Compiler.compile` return. Only the `ok` variant carries a config, so a
 * failed compile cannot be pushed by mistake: callers check `ok` before they can reach `config`.
 */
export type CompileOutcome = CompileSuccess | CompileFailure;

/** A compile that succeeded: the config to push, with statuses and events. */
export type CompileSuccess = { readonly ok: true } & CompileResult;

/**
 * A compile that threw (a compiler bug, never bad input: invalid objects are left out and
 * reported). There is no config, statuses or events: the data plane keeps its last good config
 * and the statuses already written stay. A long-lived compiler starts the next snapshot over.
 */
export interface CompileFailure {
  readonly ok: false;
  /** What was thrown, as an Error (its message and stack are for logs). */
  readonly error: Error;
}

/** What a successful compile produced (the `ok` variant of CompileOutcome adds `ok: true`). */
export interface CompileResult {
  config: DataplaneConfig;
  statuses: {
    /** By `<namespace>/<name>`; only RouteRatios Sluice considered. */
    routeRatios: Record<string, CompiledRouteRatioStatus>;
    /** By `<namespace>/<name>`; only Ingresses of Sluice's class. */
    ingresses: Record<string, CompiledIngressStatus>;
  };
  /** Sorted, deterministic. */
  events: CompileEvent[];
}

export interface Problem {
  /** JSON-path-like location in the object, e.g. `spec.rules[0].host`. */
  field: string;
  message: string;
}

/** Who holds a claim, for messages like `... is already routed by Ingress shop/api-v1 (created ...)`. */
export interface Claimant {
  kind: 'Ingress' | 'RouteRatio';
  namespace: string;
  name: string;
  creationTimestamp: string;
}

export interface Conflict {
  /** `path`: same (host, path, pathType); `host`: host owned by another namespace; `service`: RouteRatio for the same service and port. */
  kind: 'path' | 'host' | 'service';
  message: string;
  holder: Claimant;
}

export interface ClaimIndex {
  /**
   * Conflicts the given Ingress would have with the indexed ones (the same namespace/name in the
   * index is the object's own earlier version and never conflicts). A candidate without a
   * creationTimestamp is treated as newest. A released candidate (its deletionTimestamp set, or
   * its namespace terminating) claims nothing and so conflicts with nothing.
   */
  ingressConflicts(ingress: V1Ingress): Conflict[];
  /** Conflicts with another RouteRatio that splits the same service and port. */
  routeRatioConflicts(rr: RouteRatio): Conflict[];
}
