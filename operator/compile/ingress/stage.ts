// The Ingress step of the engine: which Ingresses are live (Sluice's, readable, not released),
// the claims on each host they route on, each Ingress's routes, status and events, the default
// backend and the virtual hosts. Only what depends on changed objects is redone: the claims of the
// hosts whose members changed, the Ingresses whose conflicts, Services or RouteRatios changed, the
// virtual hosts those route on.

import type { DefaultRoute, VirtualHost } from '../../../contract/types.ts';
import type { Snapshot } from '../api.ts';
import { type ClassSelector, selectsIngress } from '../classes/classes.ts';
import {
  type BackendSlot,
  type Changes,
  listOf,
  rawKey,
  sameConflicts,
  sameKeys,
  sameStatus,
} from '../core/changes.ts';
import { type EventLog, ingressRef, type KeyedEvent, warning } from '../core/events.ts';
import { compareAge, isDnsLabel, isDnsSubdomain, type Meta, quote } from '../core/objects.ts';
import {
  type Decision,
  hostGroups,
  type IngressOutput,
  type IngressRecord,
  ingressOutput,
  namesSecret,
  namesService,
  newIngressRecord,
  tlsEvents,
} from '../core/records.ts';
import { isReleased } from '../core/released.ts';
import { type Shared, type Stage, slotOf } from '../core/stage.ts';
import { TrackedList, updateSorted } from '../core/tracking.ts';
import { compareHosts, SortedRecord } from '../emit/emit.ts';
import { authFailureOutput, authSecretKey, resolveBasicAuth, withBasicAuth } from './auth-secret.ts';
import { attachCanaries, settleHost } from './claims.ts';
import type { Host } from './hosts.ts';
import { type ParsedIngress, parseIngress, type ServiceRef } from './ingress.ts';
import { buildVirtualHost, compareMembers, type HostRecord, hostCertificate, samePolicy } from './vhosts.ts';

function namespaceOf(raw: unknown): unknown {
  return (raw as { metadata?: { namespace?: unknown } } | null)?.metadata?.namespace;
}

const NO_EVENTS: KeyedEvent[] = [];

export class IngressStage implements Stage {
  private readonly shared: Shared;
  private readonly ingressList = new TrackedList<IngressRecord>(newIngressRecord);
  /** Live Ingresses with `spec.tls` (their events follow the Secrets). */
  private readonly withTls = new Set<IngressRecord>();
  /** Live Ingresses with events. */
  private readonly eventful = new Set<IngressRecord>();
  /** Outputs of the Ingresses retired in this compile, by key: a new version may keep their objects. */
  private readonly replaced = new Map<string, IngressOutput>();
  private readonly hosts = new Map<string, HostRecord>();
  /** Hosts with a VirtualHost, in config order. */
  private emitted: HostRecord[] = [];
  /** Live Ingresses that set spec.defaultBackend, oldest first. */
  private defaults: IngressRecord[] = [];
  private defaultIgnored: KeyedEvent[] = NO_EVENTS;
  private defaultRoute?: { record: IngressRecord; route: DefaultRoute; decision: Decision };
  /** Statuses of Sluice's readable Ingresses, by key. */
  private readonly statusRecord = new SortedRecord<IngressRecord>();
  private globalEvents: KeyedEvent[] = NO_EVENTS;

  constructor(shared: Shared) {
    this.shared = shared;
    shared.virtualHosts = () => this.emitted.map((h) => h.vhost!);
  }

  get malformed(): boolean {
    return this.statusRecord.repeated;
  }

  read(snapshot: Partial<Snapshot>, c: Changes): void {
    this.replaced.clear();
    this.updateIngresses(listOf(snapshot.ingresses), c, this.shared.flipped);
  }

  derive(c: Changes): void {
    const shared = this.shared;
    if (shared.compiles > 1) this.followChanges(c);
    this.settle(c);
    for (const record of c.outputs) if (record.live) this.recompute(record, c);
    const defaultCertificate = this.defaultCertificateKey();
    shared.defaultCertificate = defaultCertificate;
    this.updateDefaultRoute(c);
    shared.defaultRoute = this.defaultRoute;
    this.buildHosts(c, defaultCertificate);
    const globalEvents = this.globals(defaultCertificate);
    if (!sameKeys(globalEvents, this.globalEvents)) c.events = true;
    this.globalEvents = globalEvents;
    shared.statuses.ingresses = this.statusRecord.build((r) => r.output!.status);
  }

  /** Whether the Ingress is Sluice's, not released, and readable (parsed once, when first needed). */
  private evaluate(record: IngressRecord, selector: ClassSelector): boolean {
    try {
      if (isReleased(record.raw, this.shared.terminating)) return false;
      if (!selectsIngress(selector, record.raw)) return false;
      if (record.parsed === undefined)
        record.parsed = parseIngress(record.raw, this.shared.options.nginxSnippets) ?? null;
    } catch {
      // An object that cannot be read is left out.
      record.parsed ??= null;
      return false;
    }
    return record.parsed !== null;
  }

  private updateIngresses(
    list: readonly unknown[],
    c: Changes,
    flipped: ReadonlySet<string> | undefined,
  ): void {
    const selector = this.shared.selector!;
    const reselect = this.shared.reselect;
    let { added, removed } = this.ingressList.update(list);
    if (added.length > 0 && removed.length > 0) ({ added, removed } = this.keepUnchanged(added, removed));
    const leaving: IngressRecord[] = [];
    const arriving: IngressRecord[] = [];
    for (const record of removed) if (record.live) leaving.push(record);
    let recheck: readonly IngressRecord[] = added;
    if (reselect) recheck = this.ingressList.current;
    else if (flipped) {
      // A namespace started (or stopped) terminating: its Ingresses leave (or come back).
      const fresh = new Set(added);
      recheck = this.ingressList.current.filter(
        (r) => fresh.has(r) || flipped.has(namespaceOf(r.raw) as string),
      );
    }
    for (const record of recheck) {
      const live = this.evaluate(record, selector);
      if (live && !record.live) arriving.push(record);
      else if (!live && record.live) leaving.push(record);
    }
    for (const record of leaving) this.retire(record, c);
    for (const record of arriving) this.admit(record, c);
    if (c.defaultsAdded.length > 0 || c.defaultsRemoved.size > 0) {
      this.defaults = updateSorted(this.defaults, c.defaultsAdded, c.defaultsRemoved, (a, b) =>
        compareAge(a.parsed!.meta, b.parsed!.meta),
      );
    }
  }

  /**
   * Replacements that change nothing the compiler reads (a status update, a label) keep the
   * record of the object they replace, and so everything derived from it.
   */
  private keepUnchanged(
    added: IngressRecord[],
    removed: IngressRecord[],
  ): { added: IngressRecord[]; removed: IngressRecord[] } {
    const byKey = new Map<string, IngressRecord>();
    for (const record of removed) {
      const key = rawKey(record.raw);
      if (key !== undefined) byKey.set(key, record);
    }
    const kept = new Set<IngressRecord>();
    const stillAdded: IngressRecord[] = [];
    for (const record of added) {
      const key = rawKey(record.raw);
      const before = key === undefined ? undefined : byKey.get(key);
      if (before && this.shared.sameInput('Ingress', before.raw, record.raw)) {
        byKey.delete(key!);
        this.ingressList.adopt(before, record);
        kept.add(before);
      } else stillAdded.push(record);
    }
    return { added: stillAdded, removed: kept.size > 0 ? removed.filter((r) => !kept.has(r)) : removed };
  }

  private host(host: Host): HostRecord {
    let record = this.hosts.get(host.host);
    if (!record) {
      // Every field set here, so all host records share one shape.
      record = {
        name: host.host,
        kind: host.kind,
        members: [],
        vhost: undefined,
        joining: undefined,
        leaving: undefined,
        settleMark: 0,
        buildMark: 0,
      };
      this.hosts.set(host.host, record);
    }
    return record;
  }

  private admit(record: IngressRecord, c: Changes): void {
    const ingress = record.parsed!;
    record.live = true;
    record.key = ingress.meta.key;
    this.statusRecord.add(record);
    c.output(record);
    if (ingress.annotationProblems.length > 0) return;
    record.groups = hostGroups(record, ingress);
    for (const group of record.groups) c.join(this.host(group.host), group);
    if (ingress.defaultBackend) c.defaultsAdded.push(record);
    if (ingress.tls.length > 0) {
      this.withTls.add(record);
      this.setTlsEvents(record, tlsEvents(ingress, this.shared.secrets), c);
    }
  }

  private retire(record: IngressRecord, c: Changes): void {
    const ingress = record.parsed!;
    record.live = false;
    this.statusRecord.remove(record);
    for (const group of record.groups) c.leave(this.hosts.get(group.host.host)!, group);
    record.groups = [];
    if (ingress.defaultBackend) c.defaultsRemoved.add(record);
    this.withTls.delete(record);
    this.setTlsEvents(record, NO_EVENTS, c);
    if (record.output) {
      this.replaced.set(ingress.meta.key, record.output);
      this.apply(record.output, ingress.meta.key, -1, c);
      if (record.output.events.length > 0) c.events = true;
      record.output = undefined;
    }
    this.eventful.delete(record);
  }

  private setTlsEvents(record: IngressRecord, events: KeyedEvent[], c: Changes): void {
    if (events.length === 0 && record.tlsEvents.length === 0) return;
    record.tlsEvents = events;
    c.events = true;
    if (events.length > 0 || (record.output?.events.length ?? 0) > 0) this.eventful.add(record);
    else this.eventful.delete(record);
  }

  /** Where traffic for `ref` from an Ingress goes: its RouteRatio's split, or the backend alone. */
  private readonly decide = (meta: Meta, ref: ServiceRef, into: Decision): Decision => {
    const use = this.shared.splitFor(meta, ref);
    if (use) {
      into.split = use.split;
      into.backend = undefined;
      into.routeRatio = use.key;
      into.problem = undefined;
      return into;
    }
    const resolved = this.shared.services.resolve(meta.namespace, ref.name, ref.port, ref.clusterIp === true);
    const slot = slotOf(resolved, meta.namespace, ref.name);
    slot.backend = resolved.backend;
    into.split = slot.split;
    into.backend = slot;
    into.routeRatio = undefined;
    into.problem = resolved.problem;
    return into;
  };

  /** Adds (sign 1) or withdraws (-1) what an Ingress's output counts toward backends and RouteRatios. */
  private apply(output: IngressOutput, ingress: string, sign: 1 | -1, c: Changes): void {
    for (const use of output.backends) {
      const slot = use as BackendSlot;
      slot.paths += sign;
      c.slot(slot);
    }
    for (const key of output.routeRatios) this.shared.countSplit(key, ingress, sign);
  }

  /** Marks what depends on changed Services, RouteRatios and Secrets. */
  private followChanges(c: Changes): void {
    if (c.refs.size > 0) {
      for (const record of this.ingressList.current) {
        if (!record.live || !record.output) continue;
        // A canary also follows its primaries' Services (same namespace), for the RouteRatio warning.
        if (
          namesService(record.parsed!, c.refs) ||
          (record.parsed!.settings.canary && c.refs.has(record.parsed!.meta.namespace))
        )
          c.output(record);
      }
    }
    const secrets = this.shared.secrets.changed;
    if (secrets.size > 0) {
      // Basic-auth Secrets feed the policy of the Ingresses that name them.
      for (const record of this.ingressList.current) {
        const basicAuth = record.live ? record.parsed?.settings.basicAuth : undefined;
        if (basicAuth === undefined) continue;
        const key = authSecretKey(record.parsed!.meta.namespace, basicAuth);
        if (key !== undefined && secrets.has(key)) c.output(record);
      }
      for (const record of this.withTls) {
        if (namesSecret(record.parsed!, secrets)) {
          this.setTlsEvents(record, tlsEvents(record.parsed!, this.shared.secrets), c);
        }
      }
      // A host's certificate may come from any of them, or be the default certificate.
      for (const host of this.hosts.values()) {
        if (host.members.some((g) => g.ingress.tls.length > 0)) c.rebuild(host);
      }
    }
  }

  /** Claims on each host whose members changed; members whose conflicts changed are recomputed. */
  private settle(c: Changes): void {
    for (const host of c.settle) {
      if (host.joining || host.leaving) {
        host.members = updateSorted(host.members, host.joining ?? [], host.leaving, compareMembers);
        host.joining = undefined;
        host.leaving = undefined;
      }
      if (host.members.length === 0) {
        this.hosts.delete(host.name);
        if (host.vhost) {
          this.setVhost(host, undefined, c);
          host.vhost = undefined;
        }
        continue;
      }
      c.rebuild(host);
      const canaries = host.members.some((g) => g.ingress.settings.canary);
      if (host.members.length === 1 && host.members[0].conflicts === undefined && !canaries) continue; // alone: no conflicts
      const results = settleHost(this.shared.options.hostOwnership, host.members);
      for (let m = 0; m < host.members.length; m++) {
        const group = host.members[m];
        if (sameConflicts(group.conflicts, results[m])) continue;
        group.conflicts = results[m];
        c.output(group.record);
      }
      if (canaries) {
        // Canaries are few: each is recomputed whenever its host's members change, since what
        // its primary routes to may have changed with them.
        const links = attachCanaries(host.members);
        for (let m = 0; m < host.members.length; m++) {
          if (!links[m]) continue;
          host.members[m].canary = links[m];
          c.output(host.members[m].record);
        }
      }
    }
  }

  private recompute(record: IngressRecord, c: Changes): void {
    const ingress = record.parsed!;
    const before = record.output;
    const output = this.outputOf(record, ingress);
    this.apply(output, ingress.meta.key, 1, c);
    if (before) this.apply(before, ingress.meta.key, -1, c);
    // What did not change keeps its objects, so the statuses and events need not be rebuilt.
    const replaced = before ?? (this.replaced.size > 0 ? this.replaced.get(ingress.meta.key) : undefined);
    if (replaced && sameStatus(replaced.status, output.status)) output.status = replaced.status;
    else this.statusRecord.touch();
    if (replaced && sameKeys(replaced.events, output.events)) output.events = replaced.events;
    else if (output.events.length > 0 || (before?.events.length ?? 0) > 0) c.events = true;
    record.output = output;
    if (output.events.length > 0 || record.tlsEvents.length > 0) this.eventful.add(record);
    else this.eventful.delete(record);
    for (const group of record.groups) c.rebuild(this.hosts.get(group.host.host)!);
  }

  /** The Ingress's output; with basic auth, its Secret's hashes in the policy, or nothing routed. */
  private outputOf(record: IngressRecord, ingress: ParsedIngress): IngressOutput {
    const auth =
      ingress.annotationProblems.length === 0
        ? resolveBasicAuth(ingress, (key) => this.shared.secrets.get(key))
        : undefined;
    if (auth !== undefined && !auth.ok) return authFailureOutput(ingress, auth);
    const output = ingressOutput(record, ingress, this.decide);
    if (auth !== undefined) output.policy = withBasicAuth(ingress.settings.policy, auth.basicAuth);
    return output;
  }

  /** The default backend of the oldest Sluice Ingress that sets one (recomputed each compile). */
  private updateDefaultRoute(c: Changes): void {
    const chosen = this.defaults[0];
    if (c.defaultsAdded.length > 0 || c.defaultsRemoved.size > 0) {
      this.defaultIgnored = this.defaults
        .slice(1)
        .map((r) =>
          warning(
            'DefaultBackendIgnored',
            `spec.defaultBackend is not used: Ingress ${chosen.parsed!.meta.key} is older and sets the default backend`,
            ingressRef(r.parsed!.meta),
          ),
        );
    }
    const before = this.defaultRoute;
    let decision: Decision | undefined;
    if (chosen) {
      const ingress = chosen.parsed!;
      decision = this.decide(ingress.meta, ingress.defaultBackend!, {} as Decision);
      const policy = chosen.output?.policy ?? ingress.settings.policy;
      // Keys in sorted order (see emit.ts); an unchanged route stays the same object.
      const route =
        before?.route.split === decision.split &&
        before.route.source.ingress === ingress.meta.key &&
        samePolicy(before.route.policy, policy)
          ? before.route
          : { policy, source: { ingress: ingress.meta.key }, split: decision.split };
      this.defaultRoute = { record: chosen, route, decision };
    } else this.defaultRoute = undefined;
    // The default route counts toward its backend like any route.
    const slotBefore = before?.decision.backend as BackendSlot | undefined;
    const slotNow = decision?.backend as BackendSlot | undefined;
    if (slotNow) {
      slotNow.paths++;
      c.slot(slotNow);
    }
    if (slotBefore) {
      slotBefore.paths--;
      c.slot(slotBefore);
    }
  }

  /** Certificates and VirtualHosts of the hosts whose inputs changed. */
  private buildHosts(c: Changes, defaultCertificate: string | undefined): void {
    // (The default certificate changes only with the Secrets, and followChanges queued every
    // host with TLS when a Secret changed.)
    for (const host of c.build) {
      if (this.hosts.get(host.name) !== host) continue; // left with no members
      const vhost = buildVirtualHost(host, hostCertificate(host, this.shared.secrets, defaultCertificate));
      if (vhost !== host.vhost) this.setVhost(host, vhost, c);
    }
    if (c.emittedAdded.length > 0 || c.emittedRemoved.size > 0) {
      this.emitted = updateSorted(this.emitted, c.emittedAdded, c.emittedRemoved, compareHosts);
    }
  }

  private setVhost(host: HostRecord, vhost: VirtualHost | undefined, c: Changes): void {
    const before = host.vhost;
    c.vhosts = true;
    if (!before && vhost) {
      if (!c.emittedRemoved.delete(host)) c.emittedAdded.push(host);
    } else if (before && !vhost) c.emittedRemoved.add(host);
    this.shared.useCertificate(before?.tls?.certificate, vhost?.tls?.certificate, c);
    host.vhost = vhost;
  }

  /** The default certificate's key, when configured and usable. */
  private defaultCertificateKey(): string | undefined {
    const key = this.shared.options.defaultCertificateSecret;
    if (key === undefined) return undefined;
    const [namespace, name, ...rest] = key.split('/');
    if (rest.length > 0 || !isDnsLabel(namespace) || !isDnsSubdomain(name)) return undefined;
    return this.shared.secrets.load(key).ok ? key : undefined;
  }

  /** Events not tied to one Ingress's output: default backend and default certificate. */
  private globals(defaultCertificate: string | undefined): KeyedEvent[] {
    const events = this.defaultIgnored.slice();
    const route = this.defaultRoute;
    const problem = route?.decision.problem;
    if (route && problem) {
      events.push(
        warning(
          problem.reason,
          `${problem.message}; requests for its routes answer 503`,
          ingressRef(route.record.parsed!.meta),
        ),
      );
    }
    const key = this.shared.options.defaultCertificateSecret;
    if (key !== undefined && defaultCertificate === undefined) {
      const [namespace, name] = key.split('/');
      const result = this.shared.secrets.load(key);
      const message = result.ok ? '' : result.message;
      events.push(
        warning(
          result.ok ? 'SecretInvalid' : result.reason,
          isDnsLabel(namespace) && isDnsSubdomain(name)
            ? `default certificate: ${message}; the data plane serves its own`
            : `default certificate: ${quote(key)} is not <namespace>/<name>`,
          {
            kind: 'Secret',
            namespace: isDnsLabel(namespace) ? namespace : undefined,
            name: isDnsSubdomain(name) ? name : '-',
          },
        ),
      );
    }
    return events;
  }

  events(log: EventLog): void {
    for (const record of this.eventful) {
      if (record.output) log.addAll(record.output.events);
      log.addAll(record.tlsEvents);
    }
    log.addAll(this.globalEvents);
  }
}
