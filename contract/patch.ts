// Config patches: what changed between two configs, by virtual host, backend and certificate.
// The operator sends one (`PATCH /v1/config`) to a replica that runs the patch's base version; the
// replica applies it to its config and checks the result's content hash against `version`, so a
// patch yields exactly the config a full PUT of the new version would. A replica at another
// version answers 409 and gets the whole config instead.

import { pieceJson } from './canonical.ts';
import { hostKind, hostSortKey } from './order.ts';
import {
  type Backend,
  type Certificate,
  CONFIG_API_VERSION,
  type DataplaneConfig,
  type DefaultRoute,
  type VirtualHost,
} from './types.ts';

export interface ConfigPatch {
  apiVersion: typeof CONFIG_API_VERSION;
  /** Version the patch applies to. */
  base: string;
  /** Content hash of the config the patch yields. */
  version: string;
  /** Virtual hosts added or replaced (matched by `host`), and hosts removed. */
  virtualHosts: { set: VirtualHost[]; remove: string[] };
  /** Backends added or replaced, and keys removed. */
  backends: { set: Record<string, Backend>; remove: string[] };
  certificates: { set: Record<string, Certificate>; remove: string[] };
  /** Present when it changed: the new default route, or null when it went away. */
  defaultRoute?: DefaultRoute | null;
  /** Present when it changed: the new default certificate key, or null when it went away. */
  defaultCertificate?: string | null;
}

/** Same piece: the same object, or the same canonical text (cached per object on both sides). */
function samePiece(a: object | undefined, b: object | undefined): boolean {
  if (a === b) return true;
  if (a === undefined || b === undefined) return false;
  return pieceJson(a) === pieceJson(b);
}

function diffRecord<T extends object>(
  from: Record<string, T>,
  to: Record<string, T>,
): { set: Record<string, T>; remove: string[] } {
  const set: Record<string, T> = {};
  const remove: string[] = [];
  for (const key of Object.keys(to)) {
    if (!Object.hasOwn(from, key) || !samePiece(from[key], to[key])) set[key] = to[key];
  }
  for (const key of Object.keys(from)) if (!Object.hasOwn(to, key)) remove.push(key);
  return { set, remove };
}

/** The patch that turns `from` into `to` (both valid configs). */
export function diffConfigs(from: DataplaneConfig, to: DataplaneConfig): ConfigPatch {
  const before = new Map<string, VirtualHost>();
  for (const vh of from.virtualHosts) before.set(vh.host, vh);
  const set: VirtualHost[] = [];
  for (const vh of to.virtualHosts) {
    const old = before.get(vh.host);
    before.delete(vh.host);
    if (!samePiece(old, vh)) set.push(vh);
  }
  const patch: ConfigPatch = {
    apiVersion: CONFIG_API_VERSION,
    base: from.version,
    version: to.version,
    virtualHosts: { set, remove: [...before.keys()] },
    backends: diffRecord(from.backends, to.backends),
    certificates: diffRecord(from.certificates, to.certificates),
  };
  if (!samePiece(from.defaultRoute, to.defaultRoute)) patch.defaultRoute = to.defaultRoute ?? null;
  if (from.defaultCertificate !== to.defaultCertificate)
    patch.defaultCertificate = to.defaultCertificate ?? null;
  return patch;
}

function patchRecord<T>(
  base: Record<string, T>,
  change: { set: Record<string, T>; remove: string[] },
): Record<string, T> {
  const set = Object.keys(change.set);
  if (set.length === 0 && change.remove.length === 0) return base;
  // A key loop copies a large record several times faster than a spread does.
  const out: Record<string, T> = {};
  const keys = Object.keys(base);
  for (let i = 0; i < keys.length; i++) out[keys[i]] = base[keys[i]];
  for (const key of change.remove) delete out[key];
  for (const key of set) out[key] = change.set[key];
  return out;
}

/** The hosts with the patch's changes, found by binary search: kept runs are copied as slices. */
function patchHosts(base: VirtualHost[], change: ConfigPatch['virtualHosts']): VirtualHost[] {
  const changes = new Map<string, VirtualHost | null>();
  for (const host of change.remove) changes.set(hostSortKey({ kind: hostKind(host), host }), null);
  for (const vh of change.set) changes.set(hostSortKey(vh), vh);
  if (changes.size === 0) return base;
  const parts: VirtualHost[][] = [];
  let pos = 0;
  for (const key of [...changes.keys()].sort()) {
    let lo = pos;
    let hi = base.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (hostSortKey(base[mid]) < key) lo = mid + 1;
      else hi = mid;
    }
    parts.push(base.slice(pos, lo));
    pos = lo < base.length && hostSortKey(base[lo]) === key ? lo + 1 : lo;
    const vh = changes.get(key);
    if (vh) parts.push([vh]);
  }
  parts.push(base.slice(pos));
  return parts.flat();
}

/**
 * The config the patch yields from `base` (schema-valid patch, `patch.base === base.version`).
 * Unchanged pieces are shared with `base` (and unchanged records and host lists themselves);
 * `version` is the patch's claim, for the caller to check. Virtual hosts stay in canonical order;
 * a host or key that is both removed and set is set, and one set twice is set to the last.
 */
export function applyPatch(base: DataplaneConfig, patch: ConfigPatch): DataplaneConfig {
  const config: DataplaneConfig = {
    apiVersion: CONFIG_API_VERSION,
    backends: patchRecord(base.backends, patch.backends),
    certificates: patchRecord(base.certificates, patch.certificates),
    defaultCertificate:
      patch.defaultCertificate === undefined
        ? base.defaultCertificate
        : (patch.defaultCertificate ?? undefined),
    defaultRoute: patch.defaultRoute === undefined ? base.defaultRoute : (patch.defaultRoute ?? undefined),
    version: patch.version,
    virtualHosts: patchHosts(base.virtualHosts, patch.virtualHosts),
  };
  if (config.defaultCertificate === undefined) delete config.defaultCertificate;
  if (config.defaultRoute === undefined) delete config.defaultRoute;
  return config;
}
