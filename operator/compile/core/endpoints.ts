// Backends: a Service port resolved to the EndpointSlice port of the same name, and the slices'
// endpoints (ready ones; serving-but-terminating ones only when none is ready). A ClusterIP only
// for routes that ask for it (ingress-nginx's `service-upstream`): a backend of its own key.
// ExternalName Services are refused: they could point the proxy anywhere, including itself.

import { BlockList, isIPv4, isIPv6 } from 'node:net';
import type { V1EndpointSlice, V1Service } from '@kubernetes/client-node';
import { limits } from '../../../contract/schema.ts';
import type { Backend, Endpoint } from '../../../contract/types.ts';
import {
  append,
  asArray,
  asRecord,
  asString,
  compact,
  compareStrings,
  isDnsLabel,
  isDnsSubdomain,
  isPortName,
  isPortNumber,
  isRecord,
  sortInPlace,
} from './objects.ts';

export const SERVICE_NAME_LABEL = 'kubernetes.io/service-name';

/** Appended to a Service port's backend key for the backend that is the Service's ClusterIP. */
export const CLUSTER_IP_SUFFIX = '@cluster-ip';

export interface PortRef {
  number?: number;
  name?: string;
}

interface ServicePort {
  name: string;
  port: number;
  /** Its endpoints, once a backend has asked (`80` and `http` often name the same port). */
  endpoints?: PortEndpoints;
}

interface PortEndpoints {
  endpoints: Endpoint[];
  readyEndpoints: number;
}

/**
 * What the index knows about one namespace/name: the Service (if there is one), the
 * EndpointSlices labelled with its name (checked for name and address type, read when a backend
 * needs them) and the backends resolved from it. Lists, not maps: a Service has few of each.
 */
interface ServiceEntry {
  namespace: string;
  name: string;
  /** Service objects with this name, in the order added; one unless a snapshot repeats a name (the last wins). */
  services: unknown[];
  exists: boolean;
  externalName: boolean;
  /** `spec.clusterIP` when it is an address a proxy may use; undefined for headless Services. */
  clusterIp: string | undefined;
  /** Why there is no usable ClusterIP (for the message). */
  noClusterIp: string;
  ports: ServicePort[];
  slices: Array<Record<string, unknown>> | undefined;
  slicesSorted: boolean;
  resolved: ResolvedBackend[];
  /** Backends resolved before the entry last changed: one whose content is the same is reused. */
  previous?: ResolvedBackend[];
}

export interface BackendProblem {
  /** `ServiceNotFound`, `ExternalNameRefused`, `PortNotFound` or `NoClusterIP`. */
  reason: string;
  message: string;
}

/** A Service port resolved: kept by the index until the Service or its slices change. */
export interface ResolvedBackend {
  key: string;
  /** The port as the key names it: resolving it again gives this key while the Service stays. */
  port: PortRef;
  backend: Backend;
  /** The Service's ClusterIP as the one endpoint, not its EndpointSlices' endpoints. */
  clusterIp: boolean;
  readyEndpoints: number;
  problem?: BackendProblem;
  /** The compiler's own record of this backend key; carried over when it is resolved again after a change. */
  slot?: object;
}

// Addresses a pod never has; EndpointSlice validation refuses most of them too, this is the
// second line (hand-written slices must not reach the proxy's own loopback services).
const blockedV6 = new BlockList();
blockedV6.addSubnet('::', 127, 'ipv6'); // unspecified and loopback
blockedV6.addSubnet('::ffff:0:0', 96, 'ipv6'); // IPv4-mapped
blockedV6.addSubnet('fe80::', 10, 'ipv6'); // link-local
blockedV6.addSubnet('ff00::', 8, 'ipv6'); // multicast

function blockedV4(address: string): boolean {
  const dot = address.indexOf('.');
  const a = Number(address.slice(0, dot));
  const b = Number(address.slice(dot + 1, address.indexOf('.', dot + 1)));
  // this network, loopback, link-local, multicast and reserved
  return a === 0 || a === 127 || (a === 169 && b === 254) || a >= 224;
}

/** The address if a pod could have it, lower-cased; undefined otherwise. */
export function usableAddress(raw: unknown, addressType: 'IPv4' | 'IPv6'): string | undefined {
  if (typeof raw !== 'string' || raw.length > 45) return undefined;
  if (addressType === 'IPv4') return isIPv4(raw) && !blockedV4(raw) ? raw : undefined;
  const address = raw.toLowerCase();
  return isIPv6(address) && !address.includes('%') && !blockedV6.check(address, 'ipv6') ? address : undefined;
}

export function portLiteral(port: PortRef): string {
  return port.number !== undefined ? String(port.number) : (port.name ?? '');
}

/** A port reference that is exactly one of a valid number or a valid name. */
export function readPortRef(raw: unknown): PortRef | undefined {
  const port = asRecord(raw);
  const hasNumber = port.number !== undefined && port.number !== null && port.number !== 0;
  const hasName = port.name !== undefined && port.name !== null && port.name !== '';
  if (hasNumber === hasName) return undefined;
  if (hasNumber) return isPortNumber(port.number) ? { number: port.number } : undefined;
  return isPortName(port.name) ? { name: port.name } : undefined;
}

/**
 * Services and EndpointSlices, looked up by namespace, then name: the strings at hand serve as
 * keys, so a lookup builds no `namespace/name` string. Objects are added and removed one by one,
 * so a long-lived index follows snapshots and keeps what it resolved for entries that did not
 * change.
 */
export class ServiceIndex {
  private readonly byNamespace = new Map<string, Map<string, ServiceEntry>>();
  private lastNamespace = '';
  private lastName = '';
  private lastEntry: ServiceEntry | undefined;
  /** Entries holding backends from before a change, cleared by beginChanges. */
  private readonly refreshed: ServiceEntry[] = [];
  /** Service names filed more than once. */
  private repeatedServices = 0;
  /** Two slices of one Service had the same name when last sorted. */
  private repeatedSlices = false;
  /** Whether to record changes (not while the index is first filled). */
  tracking = true;
  /** Since beginChanges: namespace -> names whose Service object was added or removed. */
  readonly changedServices = new Map<string, Set<string>>();
  /** Since beginChanges: backends resolved before their Service or slices changed. */
  readonly changedBackends: ResolvedBackend[] = [];

  constructor(
    services: readonly V1Service[] | undefined,
    endpointSlices: readonly V1EndpointSlice[] | undefined,
  ) {
    this.tracking = false;
    for (const svc of Array.isArray(services) ? services : []) this.addService(svc);
    for (const slice of Array.isArray(endpointSlices) ? endpointSlices : []) this.addSlice(slice);
    this.tracking = true;
  }

  /** Whether the snapshot named two Services, or two slices of one Service, alike. */
  get duplicates(): boolean {
    return this.repeatedServices > 0 || this.repeatedSlices;
  }

  beginChanges(): void {
    this.changedServices.clear();
    this.changedBackends.length = 0;
    for (const entry of this.refreshed) {
      entry.previous = undefined;
      // A name with no Service, no slices and nothing resolved (no route names it) is forgotten.
      if (entry.services.length === 0 && !entry.slices?.length && entry.resolved.length === 0) {
        const names = this.byNamespace.get(entry.namespace);
        names?.delete(entry.name);
        if (names?.size === 0) this.byNamespace.delete(entry.namespace);
        if (this.lastEntry === entry) this.lastEntry = undefined;
      }
    }
    this.refreshed.length = 0;
  }

  private entry(namespace: string, name: string): ServiceEntry {
    let names = this.byNamespace.get(namespace);
    if (!names) {
      names = new Map();
      this.byNamespace.set(namespace, names);
    }
    let entry = names.get(name);
    if (!entry) {
      entry = {
        namespace,
        name,
        services: [],
        exists: false,
        externalName: false,
        clusterIp: undefined,
        noClusterIp: '',
        ports: [],
        slices: undefined,
        slicesSorted: false,
        resolved: [],
        previous: undefined,
      };
      names.set(name, entry);
    }
    return entry;
  }

  private find(namespace: string, name: string): ServiceEntry | undefined {
    return this.byNamespace.get(namespace)?.get(name);
  }

  /** Drops what was resolved from the entry (kept aside for reuse) after a change to it. */
  private invalidate(entry: ServiceEntry): void {
    // While the index is first filled nothing was resolved, and no entry is empty.
    if (!this.tracking && entry.resolved.length === 0) return;
    // Every changed entry is looked at again by beginChanges (to drop `previous`, or the entry).
    if (entry.previous === undefined) {
      entry.previous = entry.resolved;
      this.refreshed.push(entry);
    }
    if (entry.resolved.length === 0) return;
    if (this.tracking) for (const r of entry.resolved) this.changedBackends.push(r);
    entry.resolved = [];
  }

  /** Re-reads the entry's Service (the last one filed) after it changed. */
  private refreshService(entry: ServiceEntry): void {
    this.invalidate(entry);
    if (this.tracking) {
      let names = this.changedServices.get(entry.namespace);
      if (!names) {
        names = new Set();
        this.changedServices.set(entry.namespace, names);
      }
      names.add(entry.name);
    }
    const svc = entry.services[entry.services.length - 1];
    entry.exists = svc !== undefined;
    entry.externalName = false;
    entry.clusterIp = undefined;
    entry.ports = [];
    if (!isRecord(svc)) return;
    const spec = asRecord(svc.spec);
    const ports: ServicePort[] = [];
    const rawPorts = asArray(spec.ports);
    for (let i = 0; i < rawPorts.length; i++) {
      const port = asRecord(rawPorts[i]);
      const protocol = asString(port.protocol) ?? 'TCP';
      if (protocol !== 'TCP' || !isPortNumber(port.port)) continue;
      ports.push({ name: asString(port.name) ?? '', port: port.port });
    }
    entry.externalName = spec.type === 'ExternalName';
    // "None" (headless) and anything not a usable literal leave the Service without one.
    const clusterIp = asString(spec.clusterIP);
    entry.clusterIp =
      clusterIp === undefined
        ? undefined
        : usableAddress(clusterIp, clusterIp.includes(':') ? 'IPv6' : 'IPv4');
    entry.noClusterIp =
      clusterIp === undefined || clusterIp === ''
        ? 'has no ClusterIP'
        : clusterIp === 'None'
          ? 'is headless (clusterIP: None)'
          : 'has a ClusterIP Sluice does not route to (not a pod-network address)';
    entry.ports = compact(ports);
  }

  addService(svc: unknown): void {
    const ref = readRef(svc);
    if (!ref) return;
    const entry = this.entry(ref.namespace, ref.name);
    entry.services = append(entry.services, svc);
    if (entry.services.length === 2) this.repeatedServices++;
    this.refreshService(entry);
  }

  removeService(svc: unknown): void {
    const ref = readRef(svc);
    const entry = ref && this.find(ref.namespace, ref.name);
    const at = entry ? entry.services.indexOf(svc) : -1;
    if (!entry || at < 0) return;
    entry.services.splice(at, 1);
    if (entry.services.length === 1) this.repeatedServices--;
    this.refreshService(entry);
  }

  /** The slice's namespace and the Service it is filed under, or undefined if it is not usable. */
  private sliceRef(slice: unknown): { namespace: string; service: string } | undefined {
    const ref = readRef(slice);
    if (!ref || !isRecord(slice)) return undefined;
    if (slice.addressType !== 'IPv4' && slice.addressType !== 'IPv6') return undefined;
    const labels = asRecord(asRecord(slice.metadata).labels);
    const service = Object.hasOwn(labels, SERVICE_NAME_LABEL) ? labels[SERVICE_NAME_LABEL] : undefined;
    if (typeof service !== 'string') return undefined;
    return { namespace: ref.namespace, service };
  }

  /** Files the slice under its Service; its endpoints are read when a backend needs them. */
  addSlice(slice: unknown): void {
    const ref = this.sliceRef(slice);
    if (!ref) return;
    const entry = this.entry(ref.namespace, ref.service);
    this.invalidate(entry);
    for (const port of entry.ports) port.endpoints = undefined;
    entry.slicesSorted = false;
    if (entry.slices) entry.slices.push(slice as Record<string, unknown>);
    else entry.slices = [slice as Record<string, unknown>];
  }

  removeSlice(slice: unknown): void {
    const ref = this.sliceRef(slice);
    if (!ref) return;
    const entry = this.find(ref.namespace, ref.service);
    const at = entry?.slices ? entry.slices.indexOf(slice as Record<string, unknown>) : -1;
    if (!entry?.slices || at < 0) return;
    this.invalidate(entry);
    for (const port of entry.ports) port.endpoints = undefined;
    entry.slices.splice(at, 1);
  }

  hasService(namespace: string, name: string): boolean {
    return this.find(namespace, name)?.exists === true;
  }

  /**
   * Key that identifies a Service port for RouteRatio matching and conflicts: the port number
   * when the Service is known and the reference resolves, else the port as written.
   */
  servicePortKey(namespace: string, name: string, port: PortRef): string {
    const entry = this.find(namespace, name);
    const resolved = entry?.exists ? findPort(entry.ports, port) : undefined;
    return `${namespace}/${name}:${resolved ? resolved.port : portLiteral(port)}`;
  }

  /**
   * The backend for a Service port (its ClusterIP when `clusterIp`); memoised, so shared
   * backends cost once per compile.
   */
  resolve(namespace: string, name: string, port: PortRef, clusterIp = false): ResolvedBackend {
    // Paths of an Ingress mostly go to one Service: the last entry is kept at hand.
    if (namespace !== this.lastNamespace || name !== this.lastName || !this.lastEntry) {
      this.lastNamespace = namespace;
      this.lastName = name;
      this.lastEntry = this.entry(namespace, name);
    }
    const entry = this.lastEntry;
    // A port found on the Service is named by its number, so `80` and `http` share one backend
    // (one balancer, one config piece); a port that does not resolve keeps its reference.
    const servicePort = entry.exists && !entry.externalName ? findPort(entry.ports, port) : undefined;
    const literal = servicePort ? String(servicePort.port) : portLiteral(port);
    for (const known of entry.resolved)
      if (known.backend.service.port === literal && known.clusterIp === clusterIp) return known;
    let result = this.resolveUncached(entry, namespace, name, port, literal, servicePort, clusterIp);
    if (entry.previous) {
      // Unchanged content keeps its objects, so the config piece and its cached text stay.
      const before = entry.previous.find((r) => r.key === result.key);
      if (before && sameResolved(before, result)) result = before;
      else if (before) result.slot = before.slot;
    }
    entry.resolved = append(entry.resolved, result);
    return result;
  }

  private resolveUncached(
    entry: ServiceEntry,
    namespace: string,
    name: string,
    port: PortRef,
    literal: string,
    servicePort: ServicePort | undefined,
    clusterIp: boolean,
  ): ResolvedBackend {
    const key = `${namespace}/${name}:${literal}${clusterIp ? CLUSTER_IP_SUFFIX : ''}`;
    const backend: Backend = { endpoints: [], service: { name, namespace, port: literal } };
    if (!entry.exists) {
      return {
        key,
        port,
        backend,
        clusterIp,
        readyEndpoints: 0,
        problem: { reason: 'ServiceNotFound', message: `Service ${namespace}/${name} not found` },
      };
    }
    if (entry.externalName) {
      return {
        key,
        port,
        backend,
        clusterIp,
        readyEndpoints: 0,
        problem: {
          reason: 'ExternalNameRefused',
          message: `Service ${namespace}/${name} is of type ExternalName, which Sluice does not route to`,
        },
      };
    }
    if (!servicePort) {
      return {
        key,
        port,
        backend,
        clusterIp,
        readyEndpoints: 0,
        problem: {
          reason: 'PortNotFound',
          message: `Service ${namespace}/${name} has no TCP port ${port.number !== undefined ? port.number : `named "${port.name}"`}`,
        },
      };
    }
    if (clusterIp) {
      // kube-proxy balances over the Service's pods; the proxy sees one address that is always there.
      if (entry.clusterIp === undefined) {
        return {
          key,
          port: { number: servicePort.port },
          backend,
          clusterIp,
          readyEndpoints: 0,
          problem: {
            reason: 'NoClusterIP',
            message: `Service ${namespace}/${name} ${entry.noClusterIp}; service-upstream needs one`,
          },
        };
      }
      // Keys in sorted order (see emit.ts).
      backend.endpoints = [
        { address: entry.clusterIp, port: servicePort.port, ready: true, serving: true, terminating: false },
      ];
      return { key, port: { number: servicePort.port }, backend, clusterIp, readyEndpoints: 1 };
    }
    servicePort.endpoints ??= portEndpoints(this.sortedSlices(entry), servicePort.name);
    backend.endpoints = servicePort.endpoints.endpoints;
    return {
      key,
      port: { number: servicePort.port },
      backend,
      clusterIp,
      readyEndpoints: servicePort.endpoints.readyEndpoints,
    };
  }

  /** The slices of a Service in name order, so that duplicates resolve the same way every time. */
  private sortedSlices(entry: ServiceEntry): Array<Record<string, unknown>> {
    const slices = entry.slices ?? [];
    if (!entry.slicesSorted) {
      sortInPlace(slices, (a, b) => compareStrings(objectName(a), objectName(b)));
      entry.slicesSorted = true;
      // Slices of one name would resolve by the order they came in.
      for (let i = 1; i < slices.length; i++) {
        if (objectName(slices[i - 1]) === objectName(slices[i])) this.repeatedSlices = true;
      }
    }
    return slices;
  }
}

function sameResolved(a: ResolvedBackend, b: ResolvedBackend): boolean {
  if (a.readyEndpoints !== b.readyEndpoints || a.problem?.message !== b.problem?.message) return false;
  const x = a.backend.endpoints;
  const y = b.backend.endpoints;
  if (x.length !== y.length) return false;
  for (let i = 0; i < x.length; i++) {
    const p = x[i];
    const q = y[i];
    if (
      p.address !== q.address ||
      p.port !== q.port ||
      p.ready !== q.ready ||
      p.serving !== q.serving ||
      p.terminating !== q.terminating
    )
      return false;
  }
  return true;
}

function objectName(obj: Record<string, unknown>): string {
  return asString(asRecord(obj.metadata).name) ?? '';
}

/** Namespace and name of an object, checked as readMeta checks them. */
function readRef(obj: unknown): { namespace: string; name: string } | undefined {
  if (!isRecord(obj)) return undefined;
  const meta = asRecord(obj.metadata);
  const namespace = meta.namespace;
  const name = meta.name;
  if (!isDnsLabel(namespace) || !isDnsSubdomain(name)) return undefined;
  return { namespace, name };
}

/** The first TCP port of a slice with the given name. */
function slicePort(slice: Record<string, unknown>, portName: string): number | undefined {
  const ports = asArray(slice.ports);
  for (let i = 0; i < ports.length; i++) {
    const port = asRecord(ports[i]);
    const protocol = asString(port.protocol) ?? 'TCP';
    if (protocol !== 'TCP' || !isPortNumber(port.port)) continue;
    if ((asString(port.name) ?? '') === portName) return port.port;
  }
  return undefined;
}

/**
 * The endpoints behind the slice port named `portName`: ready ones, or serving-but-terminating
 * ones when none is ready; sorted, without duplicates, at most limits.endpointsPerBackend.
 */
function portEndpoints(slices: Array<Record<string, unknown>>, portName: string): PortEndpoints {
  const ready: Endpoint[] = [];
  const fallback: Endpoint[] = [];
  for (const slice of slices) {
    const addressType = slice.addressType === 'IPv6' ? 'IPv6' : 'IPv4';
    const port = slicePort(slice, portName);
    if (port === undefined) continue;
    const rawEndpoints = asArray(slice.endpoints);
    for (let i = 0; i < rawEndpoints.length; i++) {
      const ep = asRecord(rawEndpoints[i]);
      // Consumers use the first address (as kube-proxy does).
      const address = usableAddress(asArray(ep.addresses)[0], addressType);
      if (address === undefined) continue;
      const conditions = asRecord(ep.conditions);
      // Absent conditions mean ready/serving and not terminating (EndpointConditions docs).
      const readyCondition = conditions.ready !== false;
      const serving = typeof conditions.serving === 'boolean' ? conditions.serving : readyCondition;
      const terminating = conditions.terminating === true;
      const isReady = readyCondition && !terminating;
      if (!isReady && !(serving && terminating)) continue;
      // Keys in sorted order (see emit.ts).
      const endpoint: Endpoint = { address, port, ready: isReady, serving, terminating };
      (isReady ? ready : fallback).push(endpoint);
    }
  }
  // An endpoint can sit in two slices while they are rewritten; sorted, duplicates are adjacent.
  const endpoints = sortInPlace(ready.length > 0 ? ready : fallback, compareEndpoints);
  const unique =
    slices.length > 1
      ? endpoints.filter((e, i) => i === 0 || compareEndpoints(endpoints[i - 1], e) !== 0)
      : endpoints;
  return {
    endpoints:
      unique.length > limits.endpointsPerBackend
        ? unique.slice(0, limits.endpointsPerBackend)
        : compact(unique),
    readyEndpoints: ready.length > 0 ? unique.length : 0,
  };
}

function findPort(ports: ServicePort[], port: PortRef): ServicePort | undefined {
  if (port.number !== undefined) return ports.find((p) => p.port === port.number);
  return ports.find((p) => p.name === port.name);
}

function compareEndpoints(a: Endpoint, b: Endpoint): number {
  if (a.address !== b.address) return a.address < b.address ? -1 : 1;
  return a.port - b.port;
}
