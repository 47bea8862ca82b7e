// Backends: a Service port resolved to the EndpointSlice port of the same name, and the slices'
// endpoints (ready ones; serving-but-terminating ones only when none is ready). Never a ClusterIP.
// ExternalName Services are refused: they could point the proxy anywhere, including itself.

import { BlockList, isIPv4, isIPv6 } from 'node:net';
import type { V1EndpointSlice, V1Service } from '@kubernetes/client-node';
import { limits } from '../../dataplane/api/schema.ts';
import type { Backend, Endpoint, Split } from '../../dataplane/api/types.ts';
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
  exists: boolean;
  externalName: boolean;
  ports: ServicePort[];
  slices: Array<Record<string, unknown>> | undefined;
  slicesSorted: boolean;
  resolved: ResolvedBackend[];
}

export interface BackendProblem {
  /** `ServiceNotFound`, `ExternalNameRefused` or `PortNotFound`. */
  reason: string;
  message: string;
}

/** One backend of a compile (the index is built per compile, and so are these). */
export interface ResolvedBackend {
  key: string;
  backend: Backend;
  readyEndpoints: number;
  problem?: BackendProblem;
  /** Set by compile: the backend is in the config. */
  listed?: boolean;
  /** Set by compile: the one-backend split that routes to it share. */
  split?: Split;
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
 * Services and EndpointSlices of a snapshot, looked up by namespace, then name: the strings at hand
 * serve as keys, so a lookup builds no `namespace/name` string.
 */
export class ServiceIndex {
  private readonly byNamespace = new Map<string, Map<string, ServiceEntry>>();
  private lastNamespace = '';
  private lastName = '';
  private lastEntry: ServiceEntry | undefined;

  constructor(
    services: readonly V1Service[] | undefined,
    endpointSlices: readonly V1EndpointSlice[] | undefined,
  ) {
    for (const svc of Array.isArray(services) ? services : []) this.addService(svc);
    for (const slice of Array.isArray(endpointSlices) ? endpointSlices : []) this.addSlice(slice);
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
        exists: false,
        externalName: false,
        ports: [],
        slices: undefined,
        slicesSorted: false,
        resolved: [],
      };
      names.set(name, entry);
    }
    return entry;
  }

  private find(namespace: string, name: string): ServiceEntry | undefined {
    return this.byNamespace.get(namespace)?.get(name);
  }

  private addService(svc: unknown): void {
    const ref = readRef(svc);
    if (!ref || !isRecord(svc)) return;
    const spec = asRecord(svc.spec);
    const ports: ServicePort[] = [];
    const rawPorts = asArray(spec.ports);
    for (let i = 0; i < rawPorts.length; i++) {
      const port = asRecord(rawPorts[i]);
      const protocol = asString(port.protocol) ?? 'TCP';
      if (protocol !== 'TCP' || !isPortNumber(port.port)) continue;
      ports.push({ name: asString(port.name) ?? '', port: port.port });
    }
    // A later object with the same namespace/name replaces an earlier one.
    const entry = this.entry(ref.namespace, ref.name);
    entry.exists = true;
    entry.externalName = spec.type === 'ExternalName';
    entry.ports = compact(ports);
  }

  /** Files the slice under its Service; its endpoints are read when a backend needs them. */
  private addSlice(slice: unknown): void {
    const ref = readRef(slice);
    if (!ref || !isRecord(slice)) return;
    if (slice.addressType !== 'IPv4' && slice.addressType !== 'IPv6') return;
    const labels = asRecord(asRecord(slice.metadata).labels);
    const service = Object.hasOwn(labels, SERVICE_NAME_LABEL) ? labels[SERVICE_NAME_LABEL] : undefined;
    if (typeof service !== 'string') return;
    const entry = this.entry(ref.namespace, service);
    if (entry.slices) entry.slices.push(slice);
    else entry.slices = [slice];
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

  /** The backend for a Service port; memoised, so shared backends cost once per compile. */
  resolve(namespace: string, name: string, port: PortRef): ResolvedBackend {
    // Paths of an Ingress mostly go to one Service: the last entry is kept at hand.
    if (namespace !== this.lastNamespace || name !== this.lastName || !this.lastEntry) {
      this.lastNamespace = namespace;
      this.lastName = name;
      this.lastEntry = this.entry(namespace, name);
    }
    const entry = this.lastEntry;
    const literal = portLiteral(port);
    for (const known of entry.resolved) if (known.backend.service.port === literal) return known;
    const result = this.resolveUncached(entry, namespace, name, port, literal);
    entry.resolved = append(entry.resolved, result);
    return result;
  }

  private resolveUncached(
    entry: ServiceEntry,
    namespace: string,
    name: string,
    port: PortRef,
    literal: string,
  ): ResolvedBackend {
    const key = `${namespace}/${name}:${literal}`;
    const backend: Backend = { endpoints: [], service: { name, namespace, port: literal } };
    if (!entry.exists) {
      return {
        key,
        backend,
        readyEndpoints: 0,
        problem: { reason: 'ServiceNotFound', message: `Service ${namespace}/${name} not found` },
      };
    }
    if (entry.externalName) {
      return {
        key,
        backend,
        readyEndpoints: 0,
        problem: {
          reason: 'ExternalNameRefused',
          message: `Service ${namespace}/${name} is of type ExternalName, which Sluice does not route to`,
        },
      };
    }
    const servicePort = findPort(entry.ports, port);
    if (!servicePort) {
      return {
        key,
        backend,
        readyEndpoints: 0,
        problem: {
          reason: 'PortNotFound',
          message: `Service ${namespace}/${name} has no TCP port ${port.number !== undefined ? port.number : `named "${port.name}"`}`,
        },
      };
    }
    servicePort.endpoints ??= portEndpoints(this.sortedSlices(entry), servicePort.name);
    backend.endpoints = servicePort.endpoints.endpoints;
    return { key, backend, readyEndpoints: servicePort.endpoints.readyEndpoints };
  }

  /** The slices of a Service in name order, so that duplicates resolve the same way every time. */
  private sortedSlices(entry: ServiceEntry): Array<Record<string, unknown>> {
    const slices = entry.slices ?? [];
    if (!entry.slicesSorted) {
      sortInPlace(slices, (a, b) => compareStrings(objectName(a), objectName(b)));
      entry.slicesSorted = true;
    }
    return slices;
  }
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
