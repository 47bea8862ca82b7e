// Things that are allowed but probably not what the user meant: the request goes through and
// kubectl prints each as `Warning: ...`. Pure functions over the object and a view of the cluster.
import type { V1Ingress, V1IngressBackend, V1Service } from '@kubernetes/client-node';
import type { RouteRatio, RouteRatioPort } from '../operator/compile/api.ts';
import { quote } from './messages.ts';

/** Looks up a Service by namespace and name in the webhook's cache. */
export type ServiceLookup = (namespace: string, name: string) => V1Service | undefined;

export interface WarningView {
  service: ServiceLookup;
  /** Ingresses in one namespace (all classes; callers filter). */
  ingressesIn(namespace: string): readonly V1Ingress[];
}

function normaliseHost(host: string | undefined): string {
  if (!host) return '*';
  return host.toLowerCase().replace(/:\d+$/, '').replace(/\.$/, '');
}

function normalisePath(path: string | undefined, pathType: string): string {
  const p = path || '/';
  if (pathType === 'Exact' || p === '/') return p;
  return p.replace(/\/+$/, '') || '/';
}

function effectiveType(pathType: string | undefined): string {
  return pathType === 'Exact' ? 'Exact' : 'Prefix';
}

function portText(port: RouteRatioPort | undefined): string {
  if (port?.number !== undefined) return String(port.number);
  if (port?.name !== undefined) return quote(port.name);
  return '(none)';
}

function serviceHasPort(svc: V1Service, port: RouteRatioPort | undefined): boolean {
  if (!port || (port.number === undefined && port.name === undefined)) return true;
  const ports = svc.spec?.ports ?? [];
  return ports.some((p) => (port.number !== undefined ? p.port === port.number : p.name === port.name));
}

function backendWarning(
  namespace: string,
  backend: V1IngressBackend | undefined,
  field: string,
  lookup: ServiceLookup,
): string | undefined {
  const ref = backend?.service;
  if (!ref?.name) return undefined;
  const svc = lookup(namespace, ref.name);
  if (!svc) return `${field}: Service ${namespace}/${ref.name} does not exist (yet); its routes answer 503`;
  if (!serviceHasPort(svc, ref.port)) {
    return `${field}: Service ${namespace}/${ref.name} has no port ${portText(ref.port)}; its routes answer 503`;
  }
  return undefined;
}

export interface ShadowedPath {
  /** `spec.rules[r].http.paths[p]` of the repeat. */
  field: string;
  warning: string;
}

/** Paths listed again within the same Ingress (same host, path and effective type): the repeat never matches. */
export function shadowedPaths(ingress: V1Ingress): ShadowedPath[] {
  const out: ShadowedPath[] = [];
  const seen = new Map<string, string>();
  for (const [r, rule] of (ingress.spec?.rules ?? []).entries()) {
    for (const [p, path] of (rule.http?.paths ?? []).entries()) {
      const field = `spec.rules[${r}].http.paths[${p}]`;
      const type = effectiveType(path.pathType);
      const key = `${normaliseHost(rule.host)}\u0000${type}\u0000${normalisePath(path.path, type)}`;
      const first = seen.get(key);
      if (first === undefined) {
        seen.set(key, field);
        continue;
      }
      out.push({
        field,
        warning:
          `${field}: host ${quote(rule.host ?? '*')} path ${quote(path.path ?? '/')} (${path.pathType}) ` +
          `repeats ${first} and is shadowed by it`,
      });
    }
  }
  return out;
}

/** Missing backend Services or ports, and paths repeated within the Ingress. */
export function ingressWarnings(ingress: V1Ingress, view: WarningView): string[] {
  const namespace = ingress.metadata?.namespace ?? '';
  const out: string[] = shadowedPaths(ingress).map((s) => s.warning);
  const def = backendWarning(namespace, ingress.spec?.defaultBackend, 'spec.defaultBackend', view.service);
  if (def) out.push(def);
  for (const [r, rule] of (ingress.spec?.rules ?? []).entries()) {
    for (const [p, path] of (rule.http?.paths ?? []).entries()) {
      const w = backendWarning(
        namespace,
        path.backend,
        `spec.rules[${r}].http.paths[${p}].backend`,
        view.service,
      );
      if (w) out.push(w);
    }
  }
  return out;
}

function samePort(a: RouteRatioPort | undefined, b: RouteRatioPort | undefined, svc?: V1Service): boolean {
  if (!a || !b) return false;
  if (a.number !== undefined && b.number !== undefined) return a.number === b.number;
  if (a.name !== undefined && b.name !== undefined) return a.name === b.name;
  // One by number, one by name: resolve through the Service's port list when it is known.
  const named = a.name ?? b.name;
  const numbered = a.number ?? b.number;
  return (svc?.spec?.ports ?? []).some((p) => p.name === named && p.port === numbered);
}

/** Missing Services, all-zero weights, and a split that no Ingress sends traffic to. */
export function routeRatioWarnings(rr: RouteRatio, view: WarningView): string[] {
  const namespace = rr.metadata.namespace ?? '';
  const spec = rr.spec;
  const out: string[] = [];
  if (spec.backends.length > 0 && spec.backends.every((b) => b.weight === 0)) {
    out.push('spec.backends: every weight is 0; the route answers 503 until one is raised');
  }
  for (const [i, b] of spec.backends.entries()) {
    const svc = view.service(namespace, b.name);
    if (!svc) {
      out.push(
        `spec.backends[${i}]: Service ${namespace}/${b.name} does not exist (yet); its share of requests gets 503`,
      );
    } else if (!serviceHasPort(svc, b.port)) {
      out.push(
        `spec.backends[${i}]: Service ${namespace}/${b.name} has no port ${portText(b.port)}; its share gets 503`,
      );
    }
  }
  const split = view.service(namespace, spec.service.name);
  const ingresses = view.ingressesIn(namespace);
  const only = spec.ingresses && spec.ingresses.length > 0 ? new Set(spec.ingresses) : undefined;
  for (const name of only ?? []) {
    if (!ingresses.some((ing) => ing.metadata?.name === name)) {
      out.push(`spec.ingresses: Ingress ${namespace}/${name} does not exist (yet)`);
    }
  }
  const routed = ingresses.some((ing) => {
    if (only && !only.has(ing.metadata?.name ?? '')) return false;
    const backends = [
      ing.spec?.defaultBackend,
      ...(ing.spec?.rules ?? []).flatMap((r) => r.http?.paths ?? []).map((p) => p.backend),
    ];
    return backends.some(
      (b) => b?.service?.name === spec.service.name && samePort(b.service.port, spec.service.port, split),
    );
  });
  if (!routed) {
    out.push(
      `spec.service: no Ingress in ${namespace} sends traffic to Service ${spec.service.name} port ` +
        `${portText(spec.service.port)} (yet); the split has no effect until one does`,
    );
  }
  return out;
}
