// ingress-nginx annotations served in place: each group of annotations is a module that reads its
// names into the Ingress's settings. The table of every ingress-nginx annotation and Sluice's
// answer to it is docs/migrate-from-ingress-nginx.md.

import type { Problem } from '../../api.ts';
import { quote } from '../../core/objects.ts';
import { NGINX_PREFIX, type NginxGroup, type NginxReader, type SettingsBuilder } from './group.ts';

export { NGINX_PREFIX } from './group.ts';

// In the order they are read; each reads only its own names.
const GROUPS: readonly NginxGroup[] = [
  // -- canary --
  // -- paths --
  // -- redirects --
  // -- access --
  // -- cors --
  // -- auth --
  // -- limits --
  // -- upstream --
];

const READ_BY_GROUP: ReadonlySet<string> = new Set(GROUPS.flatMap((g) => g.names));

export interface NginxResult {
  problems: Problem[];
  notices: Problem[];
}

/** Whether the annotations hold any `nginx.ingress.kubernetes.io/` key. */
export function hasNginxAnnotations(annotations: Record<string, string>): boolean {
  for (const key in annotations)
    if (key.startsWith(NGINX_PREFIX) && Object.hasOwn(annotations, key)) return true;
  return false;
}

/** Reads every `nginx.ingress.kubernetes.io/*` annotation into `out`. */
export function parseNginxAnnotations(
  annotations: Record<string, string>,
  out: SettingsBuilder,
): NginxResult {
  const problems: Problem[] = [];
  const notices: Problem[] = [];
  const field = (name: string) => `metadata.annotations[${quote(NGINX_PREFIX + name, 100)}]`;
  const read: NginxReader = {
    get: (name) =>
      Object.hasOwn(annotations, NGINX_PREFIX + name) ? annotations[NGINX_PREFIX + name] : undefined,
    problem: (name, message) => problems.push({ field: field(name), message }),
    notice: (name, message) => notices.push({ field: field(name), message }),
  };
  for (const group of GROUPS) group.parse(read, out);
  for (const key of Object.keys(annotations).sort()) {
    if (!key.startsWith(NGINX_PREFIX)) continue;
    const name = key.slice(NGINX_PREFIX.length);
    if (READ_BY_GROUP.has(name)) continue;
    read.notice(name, 'not served by Sluice; see docs/migrate-from-ingress-nginx.md');
  }
  return { problems, notices };
}
