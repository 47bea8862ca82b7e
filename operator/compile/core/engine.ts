// The compiler's engine. It keeps what it derived from each input object and, given the next
// snapshot, finds the objects added and removed (by identity; inputs are immutable) and redoes
// only what depends on them: the claims of the hosts they touch, the Ingresses whose conflicts,
// Services or RouteRatios changed, the virtual hosts those route on, the backends whose Service or
// slices changed. Its first compile is a fresh compile, so a long-lived engine and a fresh one give
// the same output for the same snapshot. Pieces of the config whose inputs did not change are the
// same objects as in the previous result.

import type { DefaultRoute, VirtualHost } from '../../../contract/types.ts';
import type { CompiledRouteRatioStatus, CompileResult, Snapshot } from '../api.ts';
import { type ClassSelector, classSelector, selectsIngress } from '../classes/classes.ts';
import { compareHosts, SortedRecord, sortedRecord } from '../emit/emit.ts';
import { EmitStage } from '../emit/stage.ts';
import { Claims, settleHost } from '../ingress/claims.ts';
import type { Host } from '../ingress/hosts.ts';
import { parseIngress, type ServiceRef } from '../ingress/ingress.ts';
import { SecretIndex } from '../ingress/tls.ts';
import {
  buildVirtualHost,
  compareMembers,
  type HostRecord,
  hostCertificate,
  samePolicy,
} from '../ingress/vhosts.ts';
import { sameInput } from '../pipeline.ts';
import { RouteRatioTable } from '../routeratio/splits.ts';
import {
  type BackendSlot,
  Changes,
  listOf,
  rawKey,
  sameConflicts,
  sameKeys,
  sameSelector,
  sameStatus,
} from './changes.ts';
import type { ResolvedBackend } from './endpoints.ts';
import { ServiceIndex } from './endpoints.ts';
import { EventLog, ingressRef, type KeyedEvent, warning } from './events.ts';
import { addName, compareAge, isDnsLabel, isDnsSubdomain, type Meta, quote } from './objects.ts';
import type { Options } from './options.ts';
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
} from './records.ts';
import { isReleased, sameNames, terminatingNamespaces } from './released.ts';
import { TrackedList, updateSorted } from './tracking.ts';

function namespaceOf(raw: unknown): unknown {
  return (raw as { metadata?: { namespace?: unknown } } | null)?.metadata?.namespace;
}

/** Thrown when an update cannot be applied (a malformed snapshot): the compile starts over. */
export class StartOver extends Error {}

const NO_EVENTS: KeyedEvent[] = [];

export class Engine {
  private readonly options: Options;
  /** The last step: config.backends, config.certificates and the config itself. */
  private readonly emit: EmitStage;
  /** Compiles so far; marks what a compile queued. */
  private compiles = 0;
  private selector?: ClassSelector;
  /** Namespaces being deleted: their Ingresses and RouteRatios are released (released.ts). */
  private terminating: ReadonlySet<string> = new Set();
  private readonly ingressList = new TrackedList<IngressRecord>(newIngressRecord);
  private readonly serviceList = new TrackedList<object>();
  private readonly sliceList = new TrackedList<object>();
  private readonly secretList = new TrackedList<object>();
  private readonly services = new ServiceIndex(undefined, undefined);
  private readonly secrets = new SecretIndex(undefined);
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
  private readonly routeRatios = new RouteRatioTable();
  /** Backends listed because a RouteRatio in use splits to them. */
  private splitTo = new Set<BackendSlot>();
  /** Statuses of Sluice's readable Ingresses, by key. */
  private readonly statusRecord = new SortedRecord<IngressRecord>();
  private globalEvents: KeyedEvent[] = NO_EVENTS;
  private last?: CompileResult;

  /** `once`: the engine compiles one snapshot and is dropped (see EmitStage). */
  constructor(options: Options, once: boolean) {
    this.options = options;
    this.emit = new EmitStage(once);
  }

  /** Whether a snapshot named two objects of one kind alike: such a state is rebuilt, not updated. */
  get malformed(): boolean {
    return this.statusRecord.repeated || this.services.duplicates || this.secrets.duplicates > 0;
  }

  compile(snapshot: Partial<Snapshot>): CompileResult {
    const first = this.compiles === 0;
    const c = new Changes(++this.compiles);
    this.replaced.clear();
    // The first compile builds everything: what changed is not worth recording.
    this.services.tracking = !first;
    const s: Partial<Snapshot> = snapshot ?? {};
    this.updateServices(listOf(s.services), listOf(s.endpointSlices), c);
    this.updateSecrets(listOf(s.secrets));
    const flipped = this.updateNamespaces(s.namespaces);
    this.updateIngresses(listOf(s.ingressClasses), listOf(s.ingresses), c, flipped);
    if (!first && this.malformed) throw new StartOver();
    const claims = new Claims(this.options, this.selector!, this.services, this.terminating);
    const rrStatuses = this.routeRatios.update(
      listOf(s.routeRatios),
      claims,
      this.services,
      c.refs,
      this.terminating,
    );
    if (!first) this.followChanges(c);
    this.settle(c);
    for (const record of c.outputs) if (record.live) this.recompute(record, c);
    const defaultCertificate = this.defaultCertificateKey();
    const defaultRoute = this.updateDefaultRoute(c);
    this.buildHosts(c, defaultCertificate);
    this.finishRouteRatios(rrStatuses);
    for (const slot of c.slots) this.listing(slot, this.splitTo);
    const backends = this.emit.backends(this.services, this.last?.config.backends);
    const certificates = this.emit.certificatesFor(
      c,
      this.last === undefined,
      defaultCertificate,
      this.secrets,
    );
    const globalEvents = this.globals(defaultCertificate);
    if (!sameKeys(globalEvents, this.globalEvents)) c.events = true;
    this.globalEvents = globalEvents;

    const config = this.emit.config(this.last?.config, c.vhosts, () => this.emitted.map((h) => h.vhost!), {
      backends,
      certificates,
      defaultRoute,
      defaultCertificate,
    });
    const last = this.last;
    const result: CompileResult = {
      config,
      statuses: {
        routeRatios: sortedRecord(rrStatuses),
        ingresses: this.statusRecord.build((r) => r.output!.status),
      },
      events: last === undefined || c.events ? this.events() : last.events,
    };
    this.last = result;
    return result;
  }

  private updateServices(services: readonly unknown[], slices: readonly unknown[], c: Changes): void {
    this.services.beginChanges();
    const svc = this.serviceList.update(services);
    for (const raw of svc.removed) this.services.removeService(raw);
    for (const raw of svc.added) this.services.addService(raw);
    const sl = this.sliceList.update(slices);
    for (const raw of sl.removed) this.services.removeSlice(raw);
    for (const raw of sl.added) this.services.addSlice(raw);
    for (const [namespace, names] of this.services.changedServices) {
      for (const name of names) addName(c.refs, namespace, name);
    }
  }

  private updateSecrets(secrets: readonly unknown[]): void {
    this.secrets.beginChanges();
    const changes = this.secretList.update(secrets);
    for (const raw of changes.removed) this.secrets.remove(raw);
    for (const raw of changes.added) this.secrets.add(raw);
  }

  /**
   * Takes the snapshot's terminating namespaces; gives the namespaces that started or stopped
   * terminating since the previous compile, or undefined when none did.
   */
  private updateNamespaces(list: unknown): Set<string> | undefined {
    const before = this.terminating;
    const now = terminatingNamespaces(list);
    this.terminating = now;
    if (sameNames(before, now)) return undefined;
    const flipped = new Set<string>();
    for (const name of now) if (!before.has(name)) flipped.add(name);
    for (const name of before) if (!now.has(name)) flipped.add(name);
    return flipped;
  }

  /** Whether the Ingress is Sluice's, not released, and readable (parsed once, when first needed). */
  private evaluate(record: IngressRecord, selector: ClassSelector): boolean {
    try {
      if (isReleased(record.raw, this.terminating)) return false;
      if (!selectsIngress(selector, record.raw)) return false;
      if (record.parsed === undefined) record.parsed = parseIngress(record.raw) ?? null;
    } catch {
      // An object that cannot be read is left out.
      record.parsed ??= null;
      return false;
    }
    return record.parsed !== null;
  }

  private updateIngresses(
    classes: readonly unknown[],
    list: readonly unknown[],
    c: Changes,
    flipped: ReadonlySet<string> | undefined,
  ): void {
    const selector = classSelector(classes as Snapshot['ingressClasses'], this.options);
    const reselect = this.selector !== undefined && !sameSelector(this.selector, selector);
    this.selector = selector;
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
      if (before && sameInput('Ingress', before.raw, record.raw)) {
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
      this.setTlsEvents(record, tlsEvents(ingress, this.secrets), c);
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
    const use = this.routeRatios.find(meta, ref, this.services);
    if (use) {
      into.split = use.split;
      into.backend = undefined;
      into.routeRatio = use.key;
      into.problem = undefined;
      return into;
    }
    const resolved = this.services.resolve(meta.namespace, ref.name, ref.port);
    const slot = this.slot(resolved, meta.namespace, ref);
    slot.backend = resolved.backend;
    into.split = slot.split;
    into.backend = slot;
    into.routeRatio = undefined;
    into.problem = resolved.problem;
    return into;
  };

  private slot(resolved: ResolvedBackend, namespace: string, ref: ServiceRef): BackendSlot {
    let slot = resolved.slot as BackendSlot | undefined;
    if (!slot) {
      slot = {
        key: resolved.key,
        namespace,
        name: ref.name,
        port: resolved.port,
        // Keys in sorted order (see emit.ts); every route to this backend shares it.
        split: {
          backends: [{ backend: resolved.key, name: ref.name, weight: 1 }],
          mode: 'weighted',
          overrides: [],
        },
        backend: resolved.backend,
        paths: 0,
        listed: false,
        mark: 0,
      };
      resolved.slot = slot;
    }
    return slot;
  }

  /** Adds (sign 1) or withdraws (-1) what an Ingress's output counts toward backends and RouteRatios. */
  private apply(output: IngressOutput, ingress: string, sign: 1 | -1, c: Changes): void {
    for (const use of output.backends) {
      const slot = use as BackendSlot;
      slot.paths += sign;
      c.slot(slot);
    }
    for (const key of output.routeRatios) this.routeRatios.count(key, ingress, sign);
  }

  /** Marks what depends on changed Services, RouteRatios and Secrets. */
  private followChanges(c: Changes): void {
    if (c.refs.size > 0) {
      for (const record of this.ingressList.current) {
        if (record.live && record.output && namesService(record.parsed!, c.refs)) c.output(record);
      }
    }
    const secrets = this.secrets.changed;
    if (secrets.size > 0) {
      for (const record of this.withTls) {
        if (namesSecret(record.parsed!, secrets)) {
          this.setTlsEvents(record, tlsEvents(record.parsed!, this.secrets), c);
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
      if (host.members.length === 1 && host.members[0].conflicts === undefined) continue; // alone: no conflicts
      const results = settleHost(this.options.hostOwnership, host.members);
      for (let m = 0; m < host.members.length; m++) {
        const group = host.members[m];
        if (sameConflicts(group.conflicts, results[m])) continue;
        group.conflicts = results[m];
        c.output(group.record);
      }
    }
  }

  private recompute(record: IngressRecord, c: Changes): void {
    const ingress = record.parsed!;
    const before = record.output;
    const output = ingressOutput(record, ingress, this.decide);
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

  /** The default backend of the oldest Sluice Ingress that sets one (recomputed each compile). */
  private updateDefaultRoute(c: Changes): DefaultRoute | undefined {
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
      const policy = ingress.settings.policy;
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
    return this.defaultRoute?.route;
  }

  /** Certificates and VirtualHosts of the hosts whose inputs changed. */
  private buildHosts(c: Changes, defaultCertificate: string | undefined): void {
    // (The default certificate changes only with the Secrets, and followChanges queued every
    // host with TLS when a Secret changed.)
    for (const host of c.build) {
      if (this.hosts.get(host.name) !== host) continue; // left with no members
      const vhost = buildVirtualHost(host, hostCertificate(host, this.secrets, defaultCertificate));
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
    this.emit.useCertificate(before?.tls?.certificate, vhost?.tls?.certificate, c);
    host.vhost = vhost;
  }

  /** RouteRatio statuses; the backends of RouteRatios in use are listed. */
  private finishRouteRatios(statuses: Map<string, CompiledRouteRatioStatus>): void {
    const splitTo = new Set<BackendSlot>();
    const route = this.defaultRoute;
    const extra = route?.decision.routeRatio
      ? { key: route.decision.routeRatio, ingress: route.record.parsed!.meta.key }
      : undefined;
    this.routeRatios.finish(statuses, extra, ({ rr, resolved }) => {
      for (let i = 0; i < resolved.length; i++) {
        const b = rr.backends[i];
        const slot = this.slot(resolved[i], rr.meta.namespace, { name: b.name, port: b.port });
        slot.backend = resolved[i].backend;
        splitTo.add(slot);
      }
    });
    for (const slot of this.splitTo) if (!splitTo.has(slot)) this.listing(slot, splitTo);
    for (const slot of splitTo) if (!this.splitTo.has(slot)) this.listing(slot, splitTo);
    this.splitTo = splitTo;
  }

  private listing(slot: BackendSlot, splitTo: Set<BackendSlot>): void {
    const listed = slot.paths > 0 || splitTo.has(slot);
    this.emit.list(slot, listed);
  }

  /** The default certificate's key, when configured and usable. */
  private defaultCertificateKey(): string | undefined {
    const key = this.options.defaultCertificateSecret;
    if (key === undefined) return undefined;
    const [namespace, name, ...rest] = key.split('/');
    if (rest.length > 0 || !isDnsLabel(namespace) || !isDnsSubdomain(name)) return undefined;
    return this.secrets.load(key).ok ? key : undefined;
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
    const key = this.options.defaultCertificateSecret;
    if (key !== undefined && defaultCertificate === undefined) {
      const [namespace, name] = key.split('/');
      const result = this.secrets.load(key);
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

  private events(): CompileResult['events'] {
    const log = new EventLog();
    for (const record of this.eventful) {
      if (record.output) log.addAll(record.output.events);
      log.addAll(record.tlsEvents);
    }
    log.addAll(this.globalEvents);
    return log.sorted();
  }
}
