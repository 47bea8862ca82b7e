// Assembles the data-plane config in canonical order and stamps its content hash.
//
// Every object the compiler emits is built with its keys in sorted order, so the config is its own
// canonical form: hashing it is one native JSON.stringify, with no sorted copy (the golden and
// property tests check that canonicalJson(config) === JSON.stringify(config)). Serialising it in
// pieces, or caching the text of shared objects, measured no cheaper than that one call.

import { sortedConfigVersion } from '../../dataplane/api/canonical.ts';
import {
  type Backend,
  type Certificate,
  CONFIG_API_VERSION,
  type DataplaneConfig,
  type DefaultRoute,
  type Route,
  type VirtualHost,
} from '../../dataplane/api/types.ts';
import { compareRoutes } from '../../dataplane/api/validate.ts';
import { compareStrings, sortInPlace } from './objects.ts';

export interface ConfigParts {
  virtualHosts: VirtualHost[];
  defaultRoute?: DefaultRoute;
  /** Unique keys. */
  backends: Array<{ key: string; backend: Backend }>;
  certificates: Map<string, Certificate>;
  defaultCertificate?: string;
}

const KIND_ORDER: Record<VirtualHost['kind'], number> = { exact: 0, wildcard: 1, any: 2 };

/** The map as a record with its keys in canonical order (UTF-16 code units, the default sort). */
export function sortedRecord<T>(map: Map<string, T>): Record<string, T> {
  const out: Record<string, T> = {};
  for (const key of [...map.keys()].sort()) out[key] = map.get(key) as T;
  return out;
}

/** The backends by key, in canonical order (sorting the entries beats a map from key to backend). */
function backendRecord(backends: ConfigParts['backends']): Record<string, Backend> {
  const out: Record<string, Backend> = {};
  for (const b of backends.sort((x, y) => compareStrings(x.key, y.key))) out[b.key] = b.backend;
  return out;
}

export function sortRoutes(routes: Route[]): Route[] {
  return sortInPlace(routes, compareRoutes);
}

function compareVirtualHosts(a: VirtualHost, b: VirtualHost): number {
  return KIND_ORDER[a.kind] - KIND_ORDER[b.kind] || compareStrings(a.host, b.host);
}

export function emitConfig(parts: ConfigParts): DataplaneConfig {
  const virtualHosts = parts.virtualHosts.filter((v) => v.routes.length > 0).sort(compareVirtualHosts);
  for (const vhost of virtualHosts) sortRoutes(vhost.routes);
  const config: DataplaneConfig = {
    apiVersion: CONFIG_API_VERSION,
    backends: backendRecord(parts.backends),
    certificates: sortedRecord(parts.certificates),
    defaultCertificate: parts.defaultCertificate,
    defaultRoute: parts.defaultRoute,
    version: '',
    virtualHosts,
  };
  if (config.defaultCertificate === undefined) delete config.defaultCertificate;
  if (config.defaultRoute === undefined) delete config.defaultRoute;
  config.version = sortedConfigVersion(config);
  return config;
}
