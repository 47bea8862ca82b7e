// The passthrough hosts of the applied config, for the TLS listener (passthrough.ts): which server
// names are piped, and to which endpoint (round robin over the backend's endpoints; the position
// is kept per host across config pushes).

import type { DataplaneConfig } from '../../contract/types.ts';
import type { Passthrough, PassthroughOutcome, PassthroughTarget } from './passthrough.ts';

/** Time to connect to a passthrough endpoint. */
export const PASSTHROUGH_CONNECT_TIMEOUT_MS = 5_000;

export function passthroughHosts(deps: {
  table: () => { config: DataplaneConfig } | undefined;
  helloTimeoutMs: number;
  connectTimeoutMs?: number;
  done?: (event: { host?: string; outcome: PassthroughOutcome; bytesIn: number; bytesOut: number }) => void;
}): Passthrough {
  // Per config object: built once, on its first connection.
  const byConfig = new WeakMap<DataplaneConfig, Map<string, string>>();
  const positions = new Map<string, number>();
  const hostsOf = (config: DataplaneConfig): Map<string, string> => {
    let hosts = byConfig.get(config);
    if (hosts === undefined) {
      hosts = new Map();
      for (const vh of config.virtualHosts) {
        if (vh.passthrough !== undefined) hosts.set(vh.host, vh.passthrough.backend);
      }
      for (const host of positions.keys()) if (!hosts.has(host)) positions.delete(host);
      byConfig.set(config, hosts);
    }
    return hosts;
  };
  return {
    helloTimeoutMs: deps.helloTimeoutMs,
    connectTimeoutMs: deps.connectTimeoutMs ?? PASSTHROUGH_CONNECT_TIMEOUT_MS,
    done: deps.done,
    active() {
      const config = deps.table()?.config;
      return config !== undefined && hostsOf(config).size > 0;
    },
    target(serverName: string): PassthroughTarget | undefined {
      const config = deps.table()?.config;
      if (config === undefined) return undefined;
      const key = hostsOf(config).get(serverName);
      if (key === undefined) return undefined;
      const endpoints = config.backends[key]?.endpoints ?? [];
      if (endpoints.length === 0) return { host: serverName, endpoint: undefined };
      const at = (positions.get(serverName) ?? 0) % endpoints.length;
      positions.set(serverName, at + 1);
      const e = endpoints[at];
      return { host: serverName, endpoint: { address: e.address, port: e.port } };
    },
  };
}
