// The claim index: who owns each (host, path, pathType), each host (by namespace), and each
// Service port split by a RouteRatio. `compile` decides conflicts with exactly these functions
// (settleHost per host, claimRouteRatio), feeding objects oldest first; `buildClaimIndex` does the
// same over a whole snapshot for the admission webhook, so both define a conflict the same way.
// Both leave released objects out (released.ts): being deleted, they hold nothing.

import type { V1Ingress } from '@kubernetes/client-node';
import type { Claimant, ClaimIndex, CompileOptions, Conflict, RouteRatio, Snapshot } from '../api.ts';
import { type ClassSelector, classSelector, selectsIngress } from '../classes/classes.ts';
import { ServiceIndex } from '../core/endpoints.ts';
import { append, compareAge, type Meta } from '../core/objects.ts';
import { type Options, resolveOptions } from '../core/options.ts';
import { isReleased, terminatingNamespaces } from '../core/released.ts';
import { type ParsedRouteRatio, parseRouteRatio } from '../routeratio/routeratio.ts';
import type { Host } from './hosts.ts';
import type { IngressPath, ParsedIngress } from './ingress.ts';
import { parseIngress } from './ingress.ts';
import type { SnippetPolicy } from './nginx/registry.ts';
import type { PathType } from './paths.ts';

/** A claim is held by an object, known by its metadata (the Claimant is built for conflicts). */
type Held = Meta;

/**
 * The claims on one host: its owner (the first Ingress with an accepted path there) and the paths
 * held. Most hosts have a few paths, kept in a list; a host with many gets a map by claim key.
 * Either way a lookup needs no key string built for the usual host.
 */
class HostClaims {
  readonly owner: Held;
  /** The owner serves the host in TLS passthrough: no other Ingress may route it. */
  readonly passthrough: boolean;
  private list: Array<{ path: string; pathType: PathType; held: Held }> = [];
  private map?: Map<string, Held>;

  constructor(owner: Held, passthrough: boolean) {
    this.owner = owner;
    this.passthrough = passthrough;
  }

  get(path: IngressPath): Held | undefined {
    if (this.map) return this.map.get(claimKey(path.pathType, path.path));
    for (const claim of this.list) {
      if (claim.path === path.path && claim.pathType === path.pathType) return claim.held;
    }
    return undefined;
  }

  set(path: IngressPath, held: Held): void {
    if (this.map) {
      this.map.set(claimKey(path.pathType, path.path), held);
      return;
    }
    for (const claim of this.list) {
      if (claim.path === path.path && claim.pathType === path.pathType) {
        claim.held = held;
        return;
      }
    }
    this.list = append(this.list, { path: path.path, pathType: path.pathType, held });
    if (this.list.length > MAX_LISTED) {
      this.map = new Map(this.list.map((c) => [claimKey(c.pathType, c.path), c.held]));
      this.list = [];
    }
  }
}

const MAX_LISTED = 8;

function claimKey(pathType: PathType, path: string): string {
  return `${pathType} ${path}`;
}

export interface PathConflict {
  path: IngressPath;
  conflict: Conflict;
}

export interface IngressClaimResult {
  accepted: IngressPath[];
  conflicts: PathConflict[];
}

function claimant(kind: Claimant['kind'], meta: Meta): Claimant {
  return { kind, namespace: meta.namespace, name: meta.name, creationTimestamp: meta.created };
}

function describeHolder(h: Claimant): string {
  return `${h.kind} ${h.namespace}/${h.name} (${h.creationTimestamp ? `created ${h.creationTimestamp}` : 'not yet created'})`;
}

export function describeHost(host: string): string {
  return host === '*' ? 'any host (rules without a host)' : `host "${host}"`;
}

/** The conflict, if any, that keeps one path of `ingress` out; `claims` are its host's so far. */
function pathConflict(
  ownership: Options['hostOwnership'],
  ingress: ParsedIngress,
  path: IngressPath,
  claims: HostClaims | undefined,
): Conflict | undefined {
  if (!claims) return undefined;
  const host = path.host.host;
  // A host in TLS passthrough is its owner's alone: its connections are never terminated, so no
  // other Ingress's paths could be served there, nor can a passthrough Ingress join a host others
  // route.
  if (claims.owner.key !== ingress.meta.key && (claims.passthrough || ingress.settings.passthrough === true))
    return passthroughConflict(host, claims.owner, claims.passthrough);
  if (ownership === 'strict') {
    const owner = claims.owner;
    if (owner.key !== ingress.meta.key && owner.namespace !== ingress.meta.namespace) {
      const holder = claimant('Ingress', owner);
      return {
        kind: 'host',
        message:
          `${describeHost(host)} belongs to namespace ${owner.namespace} (first claimed by ` +
          `${describeHolder(holder)}); Ingresses in namespace ${ingress.meta.namespace} cannot add rules to it`,
        holder,
      };
    }
  }
  const held = claims.get(path);
  if (held && held.key !== ingress.meta.key) {
    const holder = claimant('Ingress', held);
    return {
      kind: 'path',
      message:
        `${describeHost(host)} path "${path.path}" (${path.pathType}) is already routed by ` +
        describeHolder(holder),
      holder,
    };
  }
  return undefined;
}

function passthroughConflict(host: string, owner: Held, ownerPassthrough: boolean): Conflict {
  const holder = claimant('Ingress', owner);
  return {
    kind: 'path',
    message: ownerPassthrough
      ? `${describeHost(host)} is served in TLS passthrough by ${describeHolder(holder)}; no other Ingress can route it`
      : `${describeHost(host)} is already routed by ${describeHolder(holder)}; a host in TLS passthrough must be routed by its Ingress alone`,
    holder,
  };
}

/** The Ingresses with paths on one host, and which of their paths (indexes into `paths`). */
export interface HostMember {
  ingress: ParsedIngress;
  indices: readonly number[];
  /** A from-to-www redirect twin (records.ts): claims nothing, conflicts with nothing. */
  redirectTo?: string;
}

/**
 * Claims on one host, members oldest first, exactly as claimIngress decides them (claims on
 * different hosts never interact): for each member, the conflicts of its paths by index, or
 * undefined when all are accepted.
 */
export function settleHost(
  ownership: Options['hostOwnership'],
  members: readonly HostMember[],
): Array<Map<number, Conflict> | undefined> {
  const out: Array<Map<number, Conflict> | undefined> = new Array(members.length).fill(undefined);
  // One Ingress never conflicts with itself (its paths are unique): a lone member needs no claims.
  if (members.length < 2) return out;
  let claims: HostClaims | undefined;
  for (let m = 0; m < members.length; m++) {
    const { ingress, indices } = members[m];
    // A canary claims nothing and conflicts with nothing: it attaches (attachCanaries). Nor does
    // a redirect twin: it is served only where no other member is (vhosts.ts).
    if (ingress.settings.canary || members[m].redirectTo !== undefined) continue;
    let conflicts: Map<number, Conflict> | undefined;
    for (const i of indices) {
      const conflict = pathConflict(ownership, ingress, ingress.paths[i], claims);
      if (!conflict) continue;
      conflicts ??= new Map();
      conflicts.set(i, conflict);
    }
    for (const i of indices) {
      if (conflicts?.has(i)) continue;
      claims ??= new HostClaims(ingress.meta, ingress.settings.passthrough === true);
      claims.set(ingress.paths[i], ingress.meta);
    }
    out[m] = conflicts;
  }
  return out;
}

/** Where a canary path goes: the primary path it attaches to, or why it attaches to none. */
export type CanaryLink = { primary: ParsedIngress; index: number } | { problem: string };

/**
 * The canary members' paths on one host (members oldest first, their conflicts settled): each
 * attaches to the routed path of a non-canary Ingress in its namespace with the same path and
 * pathType; the oldest canary of a primary path wins, as ingress-nginx serves one canary per path.
 */
export function attachCanaries(
  members: readonly (HostMember & { conflicts?: ReadonlyMap<number, Conflict> })[],
): Array<Map<number, CanaryLink> | undefined> {
  const out: Array<Map<number, CanaryLink> | undefined> = new Array(members.length).fill(undefined);
  let routed: Map<string, { primary: ParsedIngress; index: number; canary?: ParsedIngress }> | undefined;
  for (let m = 0; m < members.length; m++) {
    const { ingress, indices } = members[m];
    if (!ingress.settings.canary) continue;
    if (!routed) {
      routed = new Map();
      for (const p of members) {
        if (p.ingress.settings.canary || p.redirectTo !== undefined) continue;
        for (const i of p.indices) {
          const path = p.ingress.paths[i];
          if (p.conflicts?.has(i)) continue;
          routed.set(claimKey(path.pathType, path.path), { primary: p.ingress, index: i });
        }
      }
    }
    const links = new Map<number, CanaryLink>();
    for (const i of indices) {
      const path = ingress.paths[i];
      const where = `${describeHost(path.host.host)} path "${path.path}" (${path.pathType})`;
      const found = routed.get(claimKey(path.pathType, path.path));
      if (!found || found.primary.meta.namespace !== ingress.meta.namespace) {
        links.set(i, {
          problem: found
            ? `${where} is routed by Ingress ${found.primary.meta.key} in another namespace; a canary must be in its primary's namespace`
            : `${where} has no primary Ingress (one without canary: "true" in namespace ${ingress.meta.namespace} with the same host, path and pathType)`,
        });
      } else if (found.canary && found.canary.meta.key !== ingress.meta.key) {
        links.set(i, {
          problem: `${where} already has a canary: Ingress ${found.canary.meta.key} is older; only one canary per path is served`,
        });
      } else {
        found.canary = ingress;
        links.set(i, { primary: found.primary, index: found.index });
      }
    }
    out[m] = links;
  }
  return out;
}

export class Claims implements ClaimIndex {
  private readonly hosts = new Map<string, HostClaims>();
  private readonly splits = new Map<string, Held>();
  private readonly options: Options;
  private readonly selector: ClassSelector;
  private readonly services: ServiceIndex;
  /** Namespaces being deleted: their objects are released. */
  private readonly terminating: ReadonlySet<string>;

  constructor(
    options: Options,
    selector: ClassSelector,
    services: ServiceIndex,
    terminating: ReadonlySet<string> = new Set(),
  ) {
    this.options = options;
    this.selector = selector;
    this.services = services;
    this.terminating = terminating;
  }

  private pathConflict(
    ingress: ParsedIngress,
    path: IngressPath,
    claims: HostClaims | undefined,
  ): Conflict | undefined {
    return pathConflict(this.options.hostOwnership, ingress, path, claims);
  }

  /**
   * Decides which paths of `ingress` it may hold given what is indexed, and indexes those.
   * Objects must arrive oldest first (compareAge) for "oldest wins".
   */
  claimIngress(ingress: ParsedIngress): IngressClaimResult {
    // An Ingress with invalid annotations is left out entirely and holds nothing; a canary holds
    // nothing either (it attaches to its primary's paths).
    if (ingress.annotationProblems.length > 0 || ingress.settings.canary)
      return { accepted: [], conflicts: [] };
    // Usually nothing conflicts and every path is accepted: the lists are split only when needed.
    let conflicts: PathConflict[] | undefined;
    let accepted = ingress.paths;
    // The paths of one rule share their Host: its claims are looked up once.
    let host: Host | undefined;
    let claims: HostClaims | undefined;
    for (let i = 0; i < ingress.paths.length; i++) {
      const path = ingress.paths[i];
      if (path.host !== host) {
        host = path.host;
        claims = this.hosts.get(host.host);
      }
      const conflict = this.pathConflict(ingress, path, claims);
      if (!conflict) {
        if (conflicts) accepted.push(path);
        continue;
      }
      if (!conflicts) {
        conflicts = [];
        accepted = ingress.paths.slice(0, i);
      }
      conflicts.push({ path, conflict });
    }
    if (accepted.length > 0) {
      const held: Held = ingress.meta;
      let target: HostClaims | undefined;
      for (const path of accepted) {
        if (path.host !== host || target === undefined) {
          host = path.host;
          target = this.hosts.get(host.host);
          if (!target) {
            target = new HostClaims(held, ingress.settings.passthrough === true);
            this.hosts.set(host.host, target);
          }
        }
        target.set(path, held);
      }
    }
    return { accepted, conflicts: conflicts ?? [] };
  }

  routeRatioKey(rr: ParsedRouteRatio): string {
    return this.services.servicePortKey(rr.meta.namespace, rr.service.name, rr.service.port);
  }

  private splitConflict(rr: ParsedRouteRatio): Conflict | undefined {
    const held = this.splits.get(this.routeRatioKey(rr));
    if (!held || held.key === rr.meta.key) return undefined;
    const port = rr.service.port.number ?? rr.service.port.name;
    const holder = claimant('RouteRatio', held);
    return {
      kind: 'service',
      message:
        `service ${rr.service.name} port ${port} in namespace ${rr.meta.namespace} is already split by ` +
        describeHolder(holder),
      holder,
    };
  }

  /** Like claimIngress, for a valid RouteRatio: its conflict, or undefined and it is indexed. */
  claimRouteRatio(rr: ParsedRouteRatio): Conflict | undefined {
    const conflict = this.splitConflict(rr);
    if (!conflict) this.splits.set(this.routeRatioKey(rr), rr.meta);
    return conflict;
  }

  ingressConflicts(ingress: V1Ingress): Conflict[] {
    try {
      if (isReleased(ingress, this.terminating) || !selectsIngress(this.selector, ingress)) return [];
      const parsed = parseIngress(ingress, this.options.nginxSnippets);
      // A canary never conflicts (without a primary it is not routed, with a Warning Event).
      if (!parsed || parsed.settings.canary) return [];
      const conflicts: Conflict[] = [];
      const hostsReported = new Set<string>();
      for (const path of parsed.paths) {
        const conflict = this.pathConflict(parsed, path, this.hosts.get(path.host.host));
        if (!conflict) continue;
        if (conflict.kind === 'host') {
          if (hostsReported.has(path.host.host)) continue;
          hostsReported.add(path.host.host);
        }
        conflicts.push(conflict);
      }
      return conflicts;
    } catch {
      return [];
    }
  }

  routeRatioConflicts(rr: RouteRatio): Conflict[] {
    try {
      if (isReleased(rr, this.terminating)) return [];
      const parsed = parseRouteRatio(rr).value;
      const conflict = parsed ? this.splitConflict(parsed) : undefined;
      return conflict ? [conflict] : [];
    } catch {
      return [];
    }
  }
}

/** Sluice's Ingresses of a snapshot that are not released, parsed, oldest first. */
export function sluiceIngresses(
  snapshot: Partial<Snapshot>,
  selector: ClassSelector,
  terminating: ReadonlySet<string>,
  snippets: SnippetPolicy = 'refuse',
): ParsedIngress[] {
  const parsed: ParsedIngress[] = [];
  for (const ingress of Array.isArray(snapshot.ingresses) ? snapshot.ingresses : []) {
    try {
      if (isReleased(ingress, terminating) || !selectsIngress(selector, ingress)) continue;
      const p = parseIngress(ingress, snippets);
      if (p) parsed.push(p);
    } catch {
      // An object that cannot be read is left out; compile reports it.
    }
  }
  return parsed.sort((a, b) => compareAge(a.meta, b.meta));
}

/** Valid RouteRatios of a snapshot that are not released, oldest first. */
export function validRouteRatios(
  snapshot: Partial<Snapshot>,
  terminating: ReadonlySet<string>,
): ParsedRouteRatio[] {
  const out: ParsedRouteRatio[] = [];
  for (const rr of Array.isArray(snapshot.routeRatios) ? snapshot.routeRatios : []) {
    try {
      if (isReleased(rr, terminating)) continue;
      const parsed = parseRouteRatio(rr).value;
      if (parsed) out.push(parsed);
    } catch {
      // Left out, as above.
    }
  }
  return out.sort((a, b) => compareAge(a.meta, b.meta));
}

export function buildClaimIndex(snapshot: Snapshot, options?: CompileOptions): ClaimIndex {
  const opts = resolveOptions(options);
  const s: Partial<Snapshot> = snapshot ?? {};
  const selector = classSelector(s.ingressClasses, opts);
  // Claims compare Service ports, never endpoints: the EndpointSlices are not needed.
  const terminating = terminatingNamespaces(s.namespaces);
  const claims = new Claims(opts, selector, new ServiceIndex(s.services, undefined), terminating);
  for (const ingress of sluiceIngresses(s, selector, terminating, opts.nginxSnippets))
    claims.claimIngress(ingress);
  for (const rr of validRouteRatios(s, terminating)) claims.claimRouteRatio(rr);
  return claims;
}
