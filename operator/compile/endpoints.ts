// Backends: a Service port resolved to the EndpointSlice port of the same name, and the slices'
// endpoints (ready ones; serving-but-terminating ones only when none is ready). Never a ClusterIP.
// ExternalName Services are refused: they could point the proxy anywhere, including itself.

import { BlockList, isIPv4, isIPv6 } from 'node:net';
import type { V1EndpointSlice, V1Service } from '@kubernetes/client-node';
import { limits } from '../../dataplane/api/schema.ts';
import type { Backend, Endpoint } from '../../dataplane/api/types.ts';
import { asArray, asRecord, asString, isPortName, isPortNumber, isRecord, readMeta } from './objects.ts';

export const SERVICE_NAME_LABEL = 'kubernetes.io/service-name';

export interface PortRef {
  number?: number;
  name?: string;
}

interface ServicePort {
  name: string;
  port: number;
}

interface ServiceInfo {
  externalName: boolean;
  ports: ServicePort[];
}

interface SliceEndpoint extends Endpoint {
  key: string;
}

interface SliceInfo {
  name: string;
  ports: Array<{ name: string; port: number }>;
  endpoints: Array<Omit<SliceEndpoint, 'port'>>;
}

export interface BackendProblem {
  /** `ServiceNotFound`, `ExternalNameRefused` or `PortNotFound`. */
  reason: string;
  message: string;
}

export interface ResolvedBackend {
  key: string;
  backend: Backend;
  readyEndpoints: number;
  problem?: BackendProblem;
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

export class ServiceIndex {
  private readonly services = new Map<string, ServiceInfo>();
  private readonly slices = new Map<string, SliceInfo[]>();
  private readonly resolved = new Map<string, ResolvedBackend>();

  constructor(
    services: readonly V1Service[] | undefined,
    endpointSlices: readonly V1EndpointSlice[] | undefined,
  ) {
    for (const svc of Array.isArray(services) ? services : []) this.addService(svc);
    for (const slice of Array.isArray(endpointSlices) ? endpointSlices : []) this.addSlice(slice);
    for (const list of this.slices.values())
      list.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  private addService(svc: unknown): void {
    const meta = readMeta(svc);
    if (!meta || !isRecord(svc)) return;
    const spec = asRecord(svc.spec);
    const ports: ServicePort[] = [];
    for (const p of asArray(spec.ports)) {
      const port = asRecord(p);
      const protocol = asString(port.protocol) ?? 'TCP';
      if (protocol !== 'TCP' || !isPortNumber(port.port)) continue;
      ports.push({ name: asString(port.name) ?? '', port: port.port });
    }
    this.services.set(meta.key, { externalName: spec.type === 'ExternalName', ports });
  }

  private addSlice(slice: unknown): void {
    const meta = readMeta(slice);
    if (!meta || !isRecord(slice)) return;
    const addressType = slice.addressType;
    if (addressType !== 'IPv4' && addressType !== 'IPv6') return;
    const service = meta.labels[SERVICE_NAME_LABEL];
    if (service === undefined) return;
    const ports: SliceInfo['ports'] = [];
    for (const p of asArray(slice.ports)) {
      const port = asRecord(p);
      const protocol = asString(port.protocol) ?? 'TCP';
      if (protocol !== 'TCP' || !isPortNumber(port.port)) continue;
      ports.push({ name: asString(port.name) ?? '', port: port.port });
    }
    const endpoints: SliceInfo['endpoints'] = [];
    for (const e of asArray(slice.endpoints)) {
      const ep = asRecord(e);
      // Consumers use the first address (as kube-proxy does).
      const address = usableAddress(asArray(ep.addresses)[0], addressType);
      if (address === undefined) continue;
      const conditions = asRecord(ep.conditions);
      // Absent conditions mean ready/serving and not terminating (EndpointConditions docs).
      const ready = conditions.ready !== false;
      const serving = typeof conditions.serving === 'boolean' ? conditions.serving : ready;
      const terminating = conditions.terminating === true;
      endpoints.push({ key: address, address, ready: ready && !terminating, serving, terminating });
    }
    const key = `${meta.namespace}/${service}`;
    const list = this.slices.get(key);
    if (list) list.push({ name: meta.name, ports, endpoints });
    else this.slices.set(key, [{ name: meta.name, ports, endpoints }]);
  }

  hasService(namespace: string, name: string): boolean {
    return this.services.has(`${namespace}/${name}`);
  }

  /**
   * Key that identifies a Service port for RouteRatio matching and conflicts: the port number
   * when the Service is known and the reference resolves, else the port as written.
   */
  servicePortKey(namespace: string, name: string, port: PortRef): string {
    const svc = this.services.get(`${namespace}/${name}`);
    const resolved = svc ? findPort(svc, port) : undefined;
    return `${namespace}/${name}:${resolved ? resolved.port : portLiteral(port)}`;
  }

  /** The backend for a Service port; memoised, so shared backends cost once per compile. */
  resolve(namespace: string, name: string, port: PortRef): ResolvedBackend {
    const literal = portLiteral(port);
    const key = `${namespace}/${name}:${literal}`;
    const cached = this.resolved.get(key);
    if (cached) return cached;
    const result = this.resolveUncached(key, namespace, name, port, literal);
    this.resolved.set(key, result);
    return result;
  }

  private resolveUncached(
    key: string,
    namespace: string,
    name: string,
    port: PortRef,
    literal: string,
  ): ResolvedBackend {
    const backend: Backend = { endpoints: [], service: { name, namespace, port: literal } };
    const svc = this.services.get(`${namespace}/${name}`);
    if (!svc) {
      return {
        key,
        backend,
        readyEndpoints: 0,
        problem: { reason: 'ServiceNotFound', message: `Service ${namespace}/${name} not found` },
      };
    }
    if (svc.externalName) {
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
    const servicePort = findPort(svc, port);
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
    const ready: Endpoint[] = [];
    const fallback: Endpoint[] = [];
    const seen = new Set<string>();
    for (const slice of this.slices.get(`${namespace}/${name}`) ?? []) {
      const slicePort = slice.ports.find((p) => p.name === servicePort.name);
      if (!slicePort) continue;
      for (const ep of slice.endpoints) {
        const id = `${ep.key}|${slicePort.port}`;
        const endpoint: Endpoint = {
          address: ep.address,
          port: slicePort.port,
          ready: ep.ready,
          serving: ep.serving,
          terminating: ep.terminating,
        };
        if (ep.ready) {
          if (seen.has(id)) continue;
          seen.add(id);
          ready.push(endpoint);
        } else if (ep.serving && ep.terminating) {
          fallback.push(endpoint);
        }
      }
    }
    let endpoints = ready;
    if (ready.length === 0) {
      const unique = new Map<string, Endpoint>();
      for (const ep of fallback) unique.set(`${ep.address}|${ep.port}`, ep);
      endpoints = [...unique.values()];
    }
    endpoints.sort(compareEndpoints);
    backend.endpoints = endpoints.slice(0, limits.endpointsPerBackend);
    return { key, backend, readyEndpoints: ready.length };
  }
}

function findPort(svc: ServiceInfo, port: PortRef): ServicePort | undefined {
  if (port.number !== undefined) return svc.ports.find((p) => p.port === port.number);
  return svc.ports.find((p) => p.name === port.name);
}

function compareEndpoints(a: Endpoint, b: Endpoint): number {
  if (a.address !== b.address) return a.address < b.address ? -1 : 1;
  return a.port - b.port;
}
