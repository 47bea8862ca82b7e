// Assembles the data-plane config in canonical order and stamps its content hash.
//
// Every object the compiler emits is built with its keys in sorted order, so the config is its own
// canonical form: hashing it is one native JSON.stringify, with no sorted copy (the golden and
// property tests check that canonicalJson(config) === JSON.stringify(config)).

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
import { compareStrings } from './objects.ts';

export interface ConfigParts {
  virtualHosts: VirtualHost[];
  defaultRoute?: DefaultRoute;
  backends: Map<string, Backend>;
  certificates: Map<string, Certificate>;
  defaultCertificate?: string;
}

const KIND_ORDER: Record<VirtualHost['kind'], number> = { exact: 0, wildcard: 1, any: 2 };

function sortedRecord<T>(map: Map<string, T>): Record<string, T> {
  // Default sort compares UTF-16 code units, the canonical order.
  return Object.fromEntries([...map.entries()].sort((a, b) => (a[0] < b[0] ? -1 : 1)));
}

export function sortRoutes(routes: Route[]): Route[] {
  return routes.sort(compareRoutes);
}

export function emitConfig(parts: ConfigParts): DataplaneConfig {
  const virtualHosts = parts.virtualHosts
    .filter((v) => v.routes.length > 0)
    .sort((a, b) => KIND_ORDER[a.kind] - KIND_ORDER[b.kind] || compareStrings(a.host, b.host));
  for (const vhost of virtualHosts) sortRoutes(vhost.routes);
  const config: DataplaneConfig = {
    apiVersion: CONFIG_API_VERSION,
    backends: sortedRecord(parts.backends),
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
