// Which data-plane replicas to push to: the addresses in the EndpointSlices of the data-plane
// Service (ready and not-yet-ready alike: a replica only becomes ready once it has a config), or
// a static list for running outside a cluster.

import type { V1EndpointSlice } from '@kubernetes/client-node';

export interface Replica {
  /** Stable identity: the config API's origin, e.g. `http://198.18.0.7:9000`. */
  id: string;
  /** Base URL of the config API. */
  url: string;
  /** Ready as reported by the EndpointSlice; static replicas are ready while they answer. */
  ready: boolean;
  /** Pod name when known, for logs. */
  name?: string;
  /** Replicas from a static list have no readiness signal of their own. */
  static?: boolean;
}

export interface ReplicaPortSelector {
  /** Port name in the EndpointSlice, default `config`. */
  portName?: string;
  /** Port number used when no port has that name. */
  port?: number;
  scheme: 'http' | 'https';
}

/** Replicas from the data-plane Service's EndpointSlices, deduplicated by address and sorted. */
export function replicasFromSlices(slices: Iterable<V1EndpointSlice>, sel: ReplicaPortSelector): Replica[] {
  const byId = new Map<string, Replica>();
  for (const slice of slices) {
    if (slice.addressType !== 'IPv4' && slice.addressType !== 'IPv6') continue;
    const ports = slice.ports ?? [];
    const named = ports.find((p) => p.name === (sel.portName ?? 'config'));
    const port = named?.port ?? ports.find((p) => sel.port !== undefined && p.port === sel.port)?.port;
    if (port === undefined || port === null) continue;
    for (const ep of slice.endpoints ?? []) {
      const address = ep.addresses?.[0];
      if (!address) continue;
      // A terminating endpoint is on its way out: it keeps its config until it goes.
      if (ep.conditions?.terminating === true) continue;
      const host = slice.addressType === 'IPv6' ? `[${address}]` : address;
      const id = `${sel.scheme}://${host}:${port}`;
      // The API says a missing `ready` means ready.
      const ready = ep.conditions?.ready !== false;
      const prev = byId.get(id);
      byId.set(id, {
        id,
        url: id,
        ready: (prev?.ready ?? false) || ready,
        name: ep.targetRef?.name ?? prev?.name,
      });
    }
  }
  return [...byId.values()].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}

/** Parses `--dataplane-endpoints=http://127.0.0.1:9000,https://10.0.0.2:9000`. */
export function parseStaticEndpoints(list: string): Replica[] {
  const out = new Map<string, Replica>();
  for (const raw of list.split(',')) {
    const item = raw.trim();
    if (item === '') continue;
    let u: URL;
    try {
      u = new URL(item);
    } catch {
      throw new Error(`data-plane endpoint ${JSON.stringify(item)} is not a URL`);
    }
    if (u.protocol !== 'http:' && u.protocol !== 'https:') {
      throw new Error(`data-plane endpoint ${JSON.stringify(item)}: only http and https are supported`);
    }
    if (u.username || u.password || u.search || u.hash || (u.pathname !== '/' && u.pathname !== '')) {
      throw new Error(`data-plane endpoint ${JSON.stringify(item)}: give only scheme, host and port`);
    }
    const id = u.origin;
    out.set(id, { id, url: id, ready: true, static: true });
  }
  if (out.size === 0) throw new Error('--dataplane-endpoints is empty');
  return [...out.values()];
}
