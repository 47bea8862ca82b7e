// compile(snapshot, options): Kubernetes objects in, data-plane config, statuses and events out.
// Pure and deterministic: no I/O, no clock, objects handled in age order, output sorted.
// Invalid objects are left out and reported; nothing throws out of here.

import type { Certificate, DefaultRoute, Route, Split, VirtualHost } from '../../dataplane/api/types.ts';
import type {
  CompiledIngressStatus,
  CompiledRouteRatioStatus,
  CompileOptions,
  CompileResult,
  Problem,
  Snapshot,
} from './api.ts';
import { Claims, sluiceIngresses } from './claims.ts';
import { classSelector } from './classes.ts';
import { emitConfig, sortedRecord } from './emit.ts';
import { type ResolvedBackend, ServiceIndex } from './endpoints.ts';
import { EventLog, ingressRef } from './events.ts';
import type { Host } from './hosts.ts';
import type { ParsedIngress, ServiceRef } from './ingress.ts';
import { append, compareAge, isDnsLabel, isDnsSubdomain, quote } from './objects.ts';
import { type Options, resolveOptions } from './options.ts';
import {
  backendStatuses,
  notAcceptedStatus,
  type ParsedRouteRatio,
  parseRouteRatio,
  resolvedRefsCondition,
  resolveRouteRatioBackends,
  routeRatioSplit,
  summary,
} from './routeratio.ts';
import { SecretIndex } from './tls.ts';

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

interface RouteRatioUse {
  rr: ParsedRouteRatio;
  resolved: ResolvedBackend[];
  routes: number;
  ingresses: Set<string>;
  /** Built on first use; routes share it (the config is plain data, never mutated). */
  split?: Split;
}

interface HostEntry {
  vhost: VirtualHost;
  ingresses: ParsedIngress[];
}

class Compilation {
  readonly options: Options;
  readonly snapshot: Partial<Snapshot>;
  readonly events = new EventLog();
  readonly services: ServiceIndex;
  readonly secrets: SecretIndex;
  readonly claims: Claims;
  /** Backends in the config, each once (see addBackend). */
  readonly backends: ResolvedBackend[] = [];
  readonly certificates = new Map<string, Certificate>();
  /** Virtual hosts by name, with the Ingresses routing on each (oldest first). */
  readonly hosts = new Map<string, HostEntry>();
  readonly ingressStatuses = new Map<string, CompiledIngressStatus>();
  readonly rrStatuses = new Map<string, CompiledRouteRatioStatus>();
  /** Accepted RouteRatios by the Service-port key they split. */
  readonly splits = new Map<string, RouteRatioUse>();
  /** Namespace -> Service names with an accepted RouteRatio: most routes need no port key. */
  readonly splitServices = new Map<string, Set<string>>();
  readonly ingresses: ParsedIngress[];

  constructor(snapshot: Partial<Snapshot>, options: Options) {
    this.options = options;
    this.snapshot = snapshot;
    const selector = classSelector(snapshot.ingressClasses, options);
    this.services = new ServiceIndex(snapshot.services, snapshot.endpointSlices);
    this.secrets = new SecretIndex(snapshot.secrets);
    this.claims = new Claims(options, selector, this.services);
    this.ingresses = sluiceIngresses(snapshot, selector);
  }

  run(): CompileResult {
    this.routeRatios();
    for (const ingress of this.ingresses) this.ingress(ingress);
    const defaultRoute = this.defaultRoute();
    this.tls();
    const defaultCertificate = this.defaultCertificate();
    this.finishRouteRatios();
    const config = emitConfig({
      virtualHosts: [...this.hosts.values()].map((h) => h.vhost),
      defaultRoute,
      backends: this.backends,
      certificates: this.certificates,
      defaultCertificate,
    });
    return {
      config,
      statuses: {
        routeRatios: sortedRecord(this.rrStatuses),
        ingresses: sortedRecord(this.ingressStatuses),
      },
      events: this.events.sorted(),
    };
  }

  private addBackend(resolved: ResolvedBackend): void {
    // Resolved backends are unique per key within a compile, so a flag on each deduplicates.
    if (resolved.listed) return;
    resolved.listed = true;
    this.backends.push(resolved);
  }

  /** The split for traffic an Ingress sends to `ref`: a RouteRatio's, or the Service alone. */
  private split(ingress: ParsedIngress, ref: ServiceRef): Split {
    const namespace = ingress.meta.namespace;
    const use = this.splitServices.get(namespace)?.has(ref.name)
      ? this.splits.get(this.services.servicePortKey(namespace, ref.name, ref.port))
      : undefined;
    if (use && (!use.rr.ingresses || use.rr.ingresses.has(ingress.meta.name))) {
      use.routes++;
      use.ingresses.add(ingress.meta.key);
      if (!use.split) {
        for (const r of use.resolved) this.addBackend(r);
        use.split = routeRatioSplit(use.rr, use.resolved);
      }
      return use.split;
    }
    const resolved = this.services.resolve(namespace, ref.name, ref.port);
    if (resolved.problem) {
      this.events.warn(
        resolved.problem.reason,
        `${resolved.problem.message}; requests for its routes answer 503`,
        ingressRef(ingress.meta),
      );
    }
    if (!resolved.split) {
      this.addBackend(resolved);
      // Shared by every route to this backend (the config is plain data, never mutated).
      resolved.split = {
        backends: [{ backend: resolved.key, name: ref.name, weight: 1 }],
        mode: 'weighted',
        overrides: [],
      };
    }
    return resolved.split;
  }

  /** Claims the Ingress's paths (oldest first) and adds the accepted ones as routes. */
  private ingress(ingress: ParsedIngress): void {
    // The parsed Ingress belongs to this compile, so its list of rejected paths can be the status's.
    const status: CompiledIngressStatus = { routes: 0, rejected: ingress.rejected };
    this.ingressStatuses.set(ingress.meta.key, status);
    const ref = ingressRef(ingress.meta);
    for (const p of ingress.problems) {
      const suffix =
        problemReason(p) === 'InvalidAnnotation' ? '; the Ingress is not routed until this is fixed' : '';
      this.events.warn(problemReason(p), `${p.field}: ${p.message}${suffix}`, ref);
    }
    if (ingress.annotationProblems.length > 0) {
      for (const path of ingress.paths) {
        status.rejected.push({
          host: path.host.host,
          path: path.path,
          pathType: path.pathType,
          reason: 'InvalidAnnotation',
          message: 'the Ingress has invalid sluice.dev/ annotations',
        });
      }
      return;
    }
    const { accepted, conflicts } = this.claims.claimIngress(ingress);
    for (const { path, conflict } of conflicts) {
      const reason = conflict.kind === 'host' ? 'HostOwnedByOtherNamespace' : 'PathConflict';
      status.rejected.push({
        host: path.host.host,
        path: path.path,
        pathType: path.pathType,
        reason,
        message: conflict.message,
      });
      this.events.warn(reason, `${conflict.message}; this rule is left out`, ref);
    }
    // The paths of one rule share their Host: its entry is looked up once.
    let host: Host | undefined;
    let entry: HostEntry | undefined;
    for (const path of accepted) {
      // Keys in sorted order (see emit.ts); routes with the same settings share the policy object.
      const route: Route = {
        httpsRedirect: false,
        path: path.path,
        pathType: path.pathType,
        policy: ingress.settings.policy,
        source: { ingress: ingress.meta.key, path: path.index, rule: path.rule },
        split: this.split(ingress, path.backend),
      };
      if (path.host !== host || entry === undefined) {
        host = path.host;
        entry = this.hosts.get(host.host);
        if (!entry) {
          entry = { vhost: { host: host.host, kind: host.kind, routes: [] }, ingresses: [] };
          this.hosts.set(host.host, entry);
        }
      }
      entry.vhost.routes = append(entry.vhost.routes, route);
      if (entry.ingresses[entry.ingresses.length - 1] !== ingress)
        entry.ingresses = append(entry.ingresses, ingress);
    }
    status.routes = accepted.length;
  }

  /** The default backend of the oldest Sluice Ingress that sets one. */
  private defaultRoute(): DefaultRoute | undefined {
    let chosen: ParsedIngress | undefined;
    for (const ingress of this.ingresses) {
      if (!ingress.defaultBackend || ingress.annotationProblems.length > 0) continue;
      if (!chosen) {
        chosen = ingress;
        continue;
      }
      this.events.warn(
        'DefaultBackendIgnored',
        `spec.defaultBackend is not used: Ingress ${chosen.meta.key} is older and sets the default backend`,
        ingressRef(ingress.meta),
      );
    }
    if (!chosen?.defaultBackend) return undefined;
    return {
      policy: chosen.settings.policy,
      source: { ingress: chosen.meta.key },
      split: this.split(chosen, chosen.defaultBackend),
    };
  }

  /**
   * Each host's certificate: from the oldest Ingress routing on the host whose `spec.tls` lists
   * it with a usable Secret. A listed host without `secretName` uses the default certificate.
   */
  private tls(): void {
    // Every referenced Secret is checked, so a broken one is reported even if another wins.
    for (const ingress of this.ingresses) {
      if (ingress.annotationProblems.length > 0) continue;
      for (const entry of ingress.tls) {
        if (!entry.secretName) continue;
        const result = this.secrets.load(`${ingress.meta.namespace}/${entry.secretName}`);
        if (!result.ok) {
          this.events.warn(
            result.reason,
            `${result.message}; hosts ${entry.hosts.join(', ') || '(none)'} are served without it`,
            ingressRef(ingress.meta),
          );
        }
      }
    }
    for (const entry of this.hosts.values()) {
      const host = entry.vhost.host;
      if (entry.vhost.kind === 'any') continue;
      let certificate: string | undefined;
      search: for (const ingress of entry.ingresses) {
        for (const tls of ingress.tls) {
          if (!tls.hosts.includes(host)) continue;
          if (!tls.secretName) {
            certificate = this.defaultCertificateKey();
            if (certificate) break search;
            continue;
          }
          const key = `${ingress.meta.namespace}/${tls.secretName}`;
          const result = this.secrets.load(key);
          if (result.ok) {
            this.certificates.set(key, result.certificate);
            certificate = key;
            break search;
          }
        }
      }
      if (!certificate) continue;
      entry.vhost.tls = { certificate };
      for (const route of entry.vhost.routes) {
        const owner = entry.ingresses.find((i) => i.meta.key === route.source.ingress);
        route.httpsRedirect = owner?.settings.sslRedirect ?? true;
      }
    }
  }

  private defaultCertificateKey(): string | undefined {
    const key = this.options.defaultCertificateSecret;
    if (key === undefined) return undefined;
    const [namespace, name, ...rest] = key.split('/');
    if (rest.length > 0 || !isDnsLabel(namespace) || !isDnsSubdomain(name)) return undefined;
    const result = this.secrets.load(key);
    if (!result.ok) return undefined;
    this.certificates.set(key, result.certificate);
    return key;
  }

  private defaultCertificate(): string | undefined {
    const key = this.options.defaultCertificateSecret;
    if (key === undefined) return undefined;
    const found = this.defaultCertificateKey();
    if (found) return found;
    const [namespace, name] = key.split('/');
    const result = this.secrets.load(key);
    const message = result.ok ? '' : result.message;
    this.events.warn(
      result.ok ? 'SecretInvalid' : result.reason,
      isDnsLabel(namespace) && isDnsSubdomain(name)
        ? `default certificate: ${message}; the data plane serves its own`
        : `default certificate: ${quote(key)} is not <namespace>/<name>`,
      {
        kind: 'Secret',
        namespace: isDnsLabel(namespace) ? namespace : undefined,
        name: isDnsSubdomain(name) ? name : '-',
      },
    );
    return undefined;
  }

  /** Validates RouteRatios and settles conflicts (oldest wins) before any route looks them up. */
  private routeRatios(): void {
    const parsed: ParsedRouteRatio[] = [];
    for (const raw of Array.isArray(this.snapshot.routeRatios) ? this.snapshot.routeRatios : []) {
      let result: ReturnType<typeof parseRouteRatio>;
      try {
        result = parseRouteRatio(raw);
      } catch {
        continue;
      }
      if (!result.meta) continue;
      if (!result.value) {
        const text = result.problems
          .slice(0, 5)
          .map((p) => `${p.field}: ${p.message}`)
          .join('; ');
        this.rrStatuses.set(result.meta.key, notAcceptedStatus(result.meta, 'Invalid', text));
        continue;
      }
      parsed.push(result.value);
    }
    parsed.sort((a, b) => compareAge(a.meta, b.meta));
    for (const rr of parsed) {
      const conflict = this.claims.claimRouteRatio(rr);
      const resolved = resolveRouteRatioBackends(rr, this.services);
      if (conflict) {
        this.rrStatuses.set(
          rr.meta.key,
          notAcceptedStatus(rr.meta, 'Conflicted', conflict.message, backendStatuses(rr, resolved)),
        );
        continue;
      }
      this.splits.set(this.claims.routeRatioKey(rr), { rr, resolved, routes: 0, ingresses: new Set() });
      const names = this.splitServices.get(rr.meta.namespace);
      if (names) names.add(rr.service.name);
      else this.splitServices.set(rr.meta.namespace, new Set([rr.service.name]));
    }
  }

  private finishRouteRatios(): void {
    for (const use of this.splits.values()) {
      const { rr, resolved } = use;
      const g = rr.meta.generation;
      const backends = backendStatuses(rr, resolved);
      const port = rr.service.port.number ?? rr.service.port.name;
      let message =
        use.routes === 0
          ? `no Sluice Ingress route sends traffic to service ${rr.service.name} port ${port} yet`
          : `splits ${use.routes} route${use.routes === 1 ? '' : 's'} of ${[...use.ingresses]
              .sort()
              .map((k) => `Ingress ${k}`)
              .join(', ')}`;
      if (rr.backends.every((b) => b.weight === 0))
        message += '; all weights are 0, so these requests answer 503';
      this.rrStatuses.set(rr.meta.key, {
        observedGeneration: g,
        conditions: [
          { type: 'Accepted', status: 'True', reason: 'Accepted', message, observedGeneration: g },
          resolvedRefsCondition(rr, resolved, g),
        ],
        backends,
        summary: summary(backends),
      });
    }
  }
}

export function compile(snapshot: Snapshot, options?: CompileOptions): CompileResult {
  try {
    return new Compilation(snapshot ?? {}, resolveOptions(options)).run();
  } catch (error) {
    // A bug, not bad input: report it and hand back an empty config the operator must not push.
    const detail = error instanceof Error ? error.message : String(error);
    const events = new EventLog();
    events.warn('CompileFailed', `the compiler failed: ${quote(detail, 200)}`, {
      kind: 'IngressClass',
      name: '-',
    });
    return {
      config: emitConfig({ virtualHosts: [], backends: [], certificates: new Map() }),
      statuses: { routeRatios: {}, ingresses: {} },
      events: events.sorted(),
    };
  }
}
