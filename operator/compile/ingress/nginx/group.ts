// What a group of `nginx.ingress.kubernetes.io/*` annotations is given to read: the values by
// short name (without the prefix), and where to put what it finds. A group reads only its own
// names; the dispatcher (index.ts) tells the user about every name no group reads.

import type { SettingsBuilder } from '../settings.ts';

export type { SettingsBuilder } from '../settings.ts';

export const NGINX_PREFIX = 'nginx.ingress.kubernetes.io/';

export interface NginxReader {
  /** The value of `nginx.ingress.kubernetes.io/<name>`, if set. */
  get(name: string): string | undefined;
  /** A value that cannot be served as written: the Ingress is not routed until it is fixed. */
  problem(name: string, message: string): void;
  /** Served, but the user should know something (a difference from ingress-nginx, an ignored part). */
  notice(name: string, message: string): void;
}

export interface NginxGroup {
  /** Short names this group reads (served). */
  readonly names: readonly string[];
  /** For names served with a difference from ingress-nginx: what differs, in one sentence. */
  readonly differences?: Readonly<Record<string, string>>;
  parse(read: NginxReader, out: SettingsBuilder): void;
}
