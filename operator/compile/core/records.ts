// What the compiler keeps per Ingress between compiles: the parsed object, its paths grouped by
// host (each group is the Ingress's membership in that host's claims), and its output: status,
// events and the split of every routed path. The output depends on the claims of its hosts and
// on the Services and RouteRatios its paths name, and is recomputed only when one of those changes.

import type { RoutePolicy, Split } from '../../../contract/types.ts';
import type { CompiledIngressStatus, Conflict, ObjectRef, Problem } from '../api.ts';
import type { CanaryLink } from '../ingress/claims.ts';
import { type Host, parseHost } from '../ingress/hosts.ts';
import type { ParsedIngress, RejectedPath, ServiceRef } from '../ingress/ingress.ts';
import type { SecretIndex } from '../ingress/tls.ts';
import type { BackendProblem } from './endpoints.ts';
import { ingressRef, type KeyedEvent, warning } from './events.ts';
import { compact, type Meta } from './objects.ts';

/** Shared by outputs with nothing in a list (frozen: never added to). */
const NONE: never[] = Object.freeze([]) as never[];

/** Filled by each decision in turn (read at once, so one object serves all). */
const scratch = {} as Decision;

/** The paths of one Ingress on one host. */
export interface HostGroup {
  record: IngressRecord;
  ingress: ParsedIngress;
  host: Host;
  /** Indexes into the Ingress's paths, in order (shared between groups: never changed). */
  indices: readonly number[];
  /** Paths left out by the host's claims, by index; undefined when none. */
  conflicts?: Map<number, Conflict>;
  /** A canary's paths: the primary path each attaches to, or why none (claims.ts attachCanaries). */
  canary?: Map<number, CanaryLink>;
  /**
   * `from-to-www-redirect`: this group is the twin of the Ingress's host named here, served as a
   * redirect to it; it claims nothing and yields to any other member (vhosts.ts).
   */
  redirectTo?: string;
}

/** Where a route's traffic goes: a RouteRatio's split, or one backend. */
export interface Decision {
  split: Split;
  /** The backend, when routed to one (the key of config.backends). */
  backend: BackendUse | undefined;
  /** The RouteRatio's Service-port key, when split by one. */
  routeRatio: string | undefined;
  problem: BackendProblem | undefined;
}

/** Fills `into` with where traffic an Ingress sends to `ref` goes, and returns it. */
export type Decide = (meta: Meta, ref: ServiceRef, into: Decision) => Decision;

/** One backend as routes use it: its key, how to resolve it, and the split routes to it share. */
export interface BackendUse {
  key: string;
  namespace: string;
  name: string;
  port: ServiceRef['port'];
  /** Resolved to the Service's ClusterIP (see endpoints.ts). */
  clusterIp: boolean;
  split: Split;
}

export interface IngressOutput {
  status: CompiledIngressStatus;
  events: KeyedEvent[];
  /** By path index: the split of each routed path, undefined for paths left out. */
  splits: Array<Split | undefined>;
  /** One entry per path routed to a single backend. */
  backends: BackendUse[];
  /** One entry per path split by a RouteRatio (its Service-port key). */
  routeRatios: string[];
  /** The routes' policy when it depends on more than the annotations (a basic-auth Secret's hashes). */
  policy?: RoutePolicy;
}

export interface IngressRecord {
  raw: unknown;
  /** `<namespace>/<name>`, once parsed and live. */
  key: string;
  /** undefined until first needed (the Ingress is of our class); null when unreadable. */
  parsed: ParsedIngress | null | undefined;
  live: boolean;
  groups: HostGroup[];
  output?: IngressOutput;
  /** Problems with the Secrets its `spec.tls` names (they change with the Secrets). */
  tlsEvents: KeyedEvent[];
  /** The compile that last queued its output to be recomputed. */
  outputMark: number;
}

export function newIngressRecord(raw: unknown): IngressRecord {
  // Every field set here, so all records share one shape.
  return {
    raw,
    key: '',
    parsed: undefined,
    live: false,
    groups: [],
    output: undefined,
    tlsEvents: NONE,
    outputMark: 0,
  };
}

/** 0..n-1, shared by the groups that hold all paths of their Ingress (most do). */
const RANGES: Array<readonly number[]> = [];

function range(n: number): readonly number[] {
  let r = RANGES[n];
  if (!r) {
    r = Object.freeze(Array.from({ length: n }, (_, i) => i));
    if (n < 64) RANGES[n] = r;
  }
  return r;
}

/** The Ingress's paths grouped by host name, in order of first appearance. */
export function hostGroups(record: IngressRecord, ingress: ParsedIngress): HostGroup[] {
  const groups = ruleGroups(record, ingress);
  return ingress.settings.fromToWww && !ingress.settings.canary ? withTwins(groups) : groups;
}

/**
 * The groups plus, for each exact host, its `www.` twin (or the name without `www.`) as a redirect
 * group with the same paths, unless the Ingress routes the twin itself.
 */
function withTwins(groups: HostGroup[]): HostGroup[] {
  const out = groups.slice();
  const names = new Set(groups.map((g) => g.host.host));
  for (const group of groups) {
    if (group.host.kind !== 'exact') continue;
    const name = group.host.host;
    const twin = parseHost(name.startsWith('www.') ? name.slice(4) : `www.${name}`);
    if (!twin.ok || twin.value.kind !== 'exact' || names.has(twin.value.host)) continue;
    names.add(twin.value.host);
    out.push({ ...group, host: twin.value, conflicts: undefined, canary: undefined, redirectTo: name });
  }
  return out;
}

function ruleGroups(record: IngressRecord, ingress: ParsedIngress): HostGroup[] {
  const paths = ingress.paths;
  if (paths.length > 0 && paths.every((p) => p.host === paths[0].host)) {
    return [
      {
        record,
        ingress,
        host: paths[0].host,
        indices: range(paths.length),
        conflicts: undefined,
        canary: undefined,
        redirectTo: undefined,
      },
    ];
  }
  const groups: Array<HostGroup & { indices: number[] }> = [];
  let last: (HostGroup & { indices: number[] }) | undefined;
  for (let i = 0; i < paths.length; i++) {
    const host = paths[i].host;
    // The paths of one rule share their Host object; other rules may name the same host.
    if (last?.host !== host) {
      last = groups.find((g) => g.host.host === host.host);
      if (!last) {
        last = {
          record,
          ingress,
          host,
          indices: [],
          conflicts: undefined,
          canary: undefined,
          redirectTo: undefined,
        };
        groups.push(last);
      }
    }
    last.indices.push(i);
  }
  return groups;
}

const MAX_NOTICE_EVENT = 1000;

/**
 * One Warning Event for all of an Ingress's annotation notices (each is also an admission
 * warning): each short name with what is said of it, cut at a bound with the count of the rest.
 */
function noticeEvent(notices: readonly Problem[], ref: ObjectRef): KeyedEvent {
  const n = notices.length;
  let message = `${n} ingress-nginx annotation${n === 1 ? '' : 's'} served without or with a difference: `;
  for (let i = 0; i < n; i++) {
    const field = notices[i].field;
    const name =
      /^metadata\.annotations\["nginx\.ingress\.kubernetes\.io\/(.*)"\]$/.exec(field)?.[1] ?? field;
    const part = `${i > 0 ? ' | ' : ''}${name}: ${notices[i].message}`;
    if (message.length + part.length > MAX_NOTICE_EVENT - 80) {
      message += ` | and ${n - i} more (see the admission warnings or npm run migrate:audit)`;
      break;
    }
    message += part;
  }
  return warning('AnnotationNotServed', message, ref);
}

/** Event reason for a validation problem, from the field it is about. */
function problemReason(p: Problem): string {
  if (p.field.startsWith('metadata.annotations')) return 'InvalidAnnotation';
  if (p.field.startsWith('spec.defaultBackend') || p.field.includes('.backend')) return 'InvalidBackend';
  if (p.field.endsWith('.host')) return 'InvalidHost';
  if (p.field.endsWith('.path') || p.field.endsWith('.pathType')) return 'InvalidPath';
  if (p.field.startsWith('spec.tls')) return 'InvalidTLS';
  if (p.message.includes('listed twice')) return 'DuplicatePath';
  return 'InvalidIngress';
}

/**
 * The Ingress's status, events and routed paths, given its hosts' claims (its groups' conflicts)
 * and `decide`, which says where traffic to a Service port goes.
 */
export function ingressOutput(record: IngressRecord, ingress: ParsedIngress, decide: Decide): IngressOutput {
  const ref = ingressRef(ingress.meta);
  // Most Ingresses have no events: their list is shared until one is added.
  let events: KeyedEvent[] = ingress.problems.length > 0 ? [] : NONE;
  for (const p of ingress.problems) {
    const reason = problemReason(p);
    const suffix = reason === 'InvalidAnnotation' ? '; the Ingress is not routed until this is fixed' : '';
    events.push(warning(reason, `${p.field}: ${p.message}${suffix}`, ref));
  }
  if (ingress.annotationNotices.length > 0) {
    if (events === NONE) events = [];
    events.push(noticeEvent(ingress.annotationNotices, ref));
  }
  // The parsed list is shared and never changed: a status that adds to it gets a copy.
  let rejected: RejectedPath[] = ingress.rejected;
  if (ingress.annotationProblems.length > 0) {
    rejected = rejected.concat(
      ingress.paths.map((path) => ({
        host: path.host.host,
        path: path.path,
        pathType: path.pathType,
        reason: 'InvalidAnnotation',
        message: ingress.annotationProblems.some((p) => p.field.includes('nginx.ingress.kubernetes.io/'))
          ? 'the Ingress has annotations that cannot be served'
          : 'the Ingress has invalid sluice.dev/ annotations',
      })),
    );
    return { status: { routes: 0, rejected }, events, splits: NONE, backends: NONE, routeRatios: NONE };
  }
  let conflicts: Map<number, Conflict> | undefined;
  for (const group of record.groups) {
    if (!group.conflicts) continue;
    if (!conflicts) conflicts = group.conflicts;
    else conflicts = new Map([...conflicts, ...group.conflicts]);
  }
  const paths = ingress.paths;
  const splits: Array<Split | undefined> = new Array(paths.length);
  const backends: BackendUse[] = [];
  let routeRatios: string[] = NONE;
  let routes = 0;
  const canary = ingress.settings.canary !== undefined;
  let links: Map<number, CanaryLink> | undefined;
  if (canary) {
    links = new Map();
    for (const group of record.groups) if (group.canary) for (const [i, l] of group.canary) links.set(i, l);
  }
  for (let i = 0; i < paths.length; i++) {
    const path = paths[i];
    if (canary) {
      const link = links!.get(i);
      if (!link || 'problem' in link) {
        const message = link?.problem ?? 'no primary Ingress for this path';
        if (rejected === ingress.rejected) rejected = rejected.slice();
        rejected.push({
          host: path.host.host,
          path: path.path,
          pathType: path.pathType,
          reason: 'CanaryNotAttached',
          message,
        });
        if (events === NONE) events = [];
        events.push(warning('CanaryNotAttached', `${message}; this canary rule is left out`, ref));
        continue;
      }
      const primary = decide(link.primary.meta, link.primary.paths[link.index].backend, {} as Decision);
      if (primary.routeRatio !== undefined) {
        if (events === NONE) events = [];
        events.push(
          warning(
            'CanaryWithRouteRatio',
            `${describePath(path)}: the primary's Service is split by a RouteRatio; the canary takes its weight and the RouteRatio's backends share the rest (see docs/migrate-from-ingress-nginx.md)`,
            ref,
          ),
        );
      }
    }
    const conflict = conflicts?.get(i);
    if (conflict) {
      const reason = conflict.kind === 'host' ? 'HostOwnedByOtherNamespace' : 'PathConflict';
      if (rejected === ingress.rejected) rejected = rejected.slice();
      rejected.push({
        host: path.host.host,
        path: path.path,
        pathType: path.pathType,
        reason,
        message: conflict.message,
      });
      if (events === NONE) events = [];
      events.push(warning(reason, `${conflict.message}; this rule is left out`, ref));
      continue;
    }
    const decision = decide(ingress.meta, path.backend, scratch);
    splits[i] = decision.split;
    routes++;
    if (decision.routeRatio !== undefined) {
      if (routeRatios === NONE) routeRatios = [];
      routeRatios.push(decision.routeRatio);
    } else if (decision.backend) backends.push(decision.backend);
    if (decision.problem) {
      if (events === NONE) events = [];
      events.push(
        warning(
          decision.problem.reason,
          `${decision.problem.message}; requests for its routes answer 503`,
          ref,
        ),
      );
    }
  }
  // Kept until the Ingress changes: lists at their exact length (see objects.ts).
  return { status: { routes, rejected }, events, splits, backends: compact(backends), routeRatios };
}

/** Every Secret `spec.tls` names is checked, so a broken one is reported even if another wins. */
export function tlsEvents(ingress: ParsedIngress, secrets: SecretIndex): KeyedEvent[] {
  if (ingress.annotationProblems.length > 0 || ingress.tls.length === 0) return NONE;
  let events: KeyedEvent[] = NONE;
  for (const entry of ingress.tls) {
    if (!entry.secretName) continue;
    const result = secrets.load(`${ingress.meta.namespace}/${entry.secretName}`);
    if (result.ok) continue;
    if (events === NONE) events = [];
    events.push(
      warning(
        result.reason,
        `${result.message}; hosts ${entry.hosts.join(', ') || '(none)'} are served without it`,
        ingressRef(ingress.meta),
      ),
    );
  }
  return events;
}

/** Whether the Ingress's `spec.tls` names one of the Secrets (`<namespace>/<name>`). */
export function namesSecret(ingress: ParsedIngress, keys: ReadonlySet<string>): boolean {
  for (const entry of ingress.tls) {
    if (entry.secretName && keys.has(`${ingress.meta.namespace}/${entry.secretName}`)) return true;
  }
  return false;
}

/** Whether a path of the Ingress routes to one of the Services (namespace -> names). */
export function namesService(ingress: ParsedIngress, services: ReadonlyMap<string, Set<string>>): boolean {
  const names = services.get(ingress.meta.namespace);
  if (!names) return false;
  for (const path of ingress.paths) if (names.has(path.backend.name)) return true;
  return false;
}

function describePath(path: { host: Host; path: string; pathType: string }): string {
  return `${path.host.host === '*' ? 'any host' : `host "${path.host.host}"`} path "${path.path}" (${path.pathType})`;
}
