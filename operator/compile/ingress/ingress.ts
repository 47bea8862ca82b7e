// One Ingress read into routing claims: each (host, path, pathType) with its backend, and the
// paths that are invalid with the reason. Shared by compile, the claim index and validateIngress,
// so all three see the same routes.

import type { Problem } from '../api.ts';
import { type PortRef, readPortRef } from '../core/endpoints.ts';
import {
  asArray,
  asRecord,
  compact,
  isDnsSubdomain,
  isRecord,
  isServiceName,
  type Meta,
  readMeta,
  safeText,
} from '../core/objects.ts';
import { type IngressSettings, parseAnnotations } from './annotations.ts';
import { type Host, parseHost } from './hosts.ts';
import type { SnippetPolicy } from './nginx/registry.ts';
import { type PathType, parsePath, parseRegexPath } from './paths.ts';

export interface ServiceRef {
  name: string;
  port: PortRef;
  /** Routed to the Service's ClusterIP (`service-upstream`), not its endpoints. */
  clusterIp?: true;
}

export interface IngressPath {
  host: Host;
  path: string;
  pathType: PathType;
  rule: number;
  index: number;
  backend: ServiceRef;
}

export interface RejectedPath {
  host: string;
  path: string;
  pathType: string;
  reason: string;
  message: string;
}

export interface IngressTls {
  hosts: string[];
  secretName?: string;
}

export interface ParsedIngress {
  meta: Meta;
  paths: IngressPath[];
  /** Paths that are invalid in themselves (host, path, backend, duplicates). */
  rejected: RejectedPath[];
  /** Everything wrong with the object, for validateIngress and events. */
  problems: Problem[];
  annotationProblems: Problem[];
  /** Annotations served with something the user should know (Warning Events, admission warnings). */
  annotationNotices: Problem[];
  settings: IngressSettings;
  defaultBackend?: ServiceRef;
  tls: readonly IngressTls[];
}

/** Bounds that keep one object from costing unbounded work. */
const MAX_RULES = 1_000;
const MAX_PATHS = 1_000;
const MAX_TLS = 100;

const NO_TLS: readonly IngressTls[] = Object.freeze([]);

/**
 * The (host, pathType, path) claims of one Ingress so far, to find a path listed twice. Most
 * Ingresses list a handful of paths, compared one by one; longer lists get a Set of keys.
 */
class ListedPaths {
  private readonly paths: IngressPath[];
  private keys?: Set<string>;

  constructor(paths: IngressPath[]) {
    this.paths = paths;
  }

  has(host: string, pathType: PathType, path: string): boolean {
    if (this.paths.length < 16) {
      for (const p of this.paths) {
        if (p.path === path && p.pathType === pathType && p.host.host === host) return true;
      }
      return false;
    }
    this.keys ??= new Set(this.paths.map((p) => claimKey(p.host.host, p.pathType, p.path)));
    return this.keys.has(claimKey(host, pathType, path));
  }

  add(path: IngressPath): void {
    this.paths.push(path);
    this.keys?.add(claimKey(path.host.host, path.pathType, path.path));
  }
}

function claimKey(host: string, pathType: PathType, path: string): string {
  return `${host} ${pathType} ${path}`;
}

/** The Service a backend names, or what is wrong with it (`field` relative to the backend). */
function readBackend(raw: unknown): ServiceRef | Problem {
  const backend = asRecord(raw);
  if (backend.resource !== undefined) {
    return { field: '.resource', message: 'resource backends are not supported; use a Service' };
  }
  if (!isRecord(backend.service)) return { field: '.service', message: 'a Service backend is required' };
  const name = backend.service.name;
  if (!isServiceName(name)) {
    return { field: '.service.name', message: 'must be a Service name (an RFC 1035 label)' };
  }
  const port = readPortRef(backend.service.port);
  if (!port) {
    return {
      field: '.service.port',
      message: 'must give exactly one of a port number (1-65535) or a port name',
    };
  }
  return { name, port };
}

/** A rule path as the user wrote it, made safe for status: only built for rejected paths. */
function shownPath(
  rule: Record<string, unknown>,
  entry: Record<string, unknown>,
): Pick<RejectedPath, 'host' | 'path' | 'pathType'> {
  return {
    host: typeof rule.host === 'string' ? safeText(rule.host) : rule.host === undefined ? '*' : '',
    path: typeof entry.path === 'string' ? safeText(entry.path) : '',
    pathType: typeof entry.pathType === 'string' ? safeText(entry.pathType, 40) : '',
  };
}

// Plain loops, and field names built only for problems: this runs for every path of every
// Ingress on each compile.
export function parseIngress(
  ingress: unknown,
  snippets: SnippetPolicy = 'refuse',
): ParsedIngress | undefined {
  const meta = readMeta(ingress);
  if (!meta || !isRecord(ingress)) return undefined;
  const spec = asRecord(ingress.spec);
  const {
    settings,
    problems: annotationProblems,
    notices: annotationNotices,
  } = parseAnnotations(meta.annotations, snippets);
  const problems: Problem[] = annotationProblems.length > 0 ? annotationProblems.slice() : [];
  const paths: IngressPath[] = [];
  const rejected: RejectedPath[] = [];
  const listed = new ListedPaths(paths);

  for (const key of ['rules', 'tls'] as const) {
    if (spec[key] !== undefined && spec[key] !== null && !Array.isArray(spec[key])) {
      problems.push({ field: `spec.${key}`, message: 'must be a list' });
    }
  }
  const rules = asArray(spec.rules);
  if (rules.length > MAX_RULES)
    problems.push({ field: 'spec.rules', message: `more than ${MAX_RULES} rules` });
  for (let r = 0; r < rules.length && r < MAX_RULES; r++) {
    const rule = asRecord(rules[r]);
    const hostResult = parseHost(rule.host);
    if (!hostResult.ok) problems.push({ field: `spec.rules[${r}].host`, message: hostResult.message });
    const rulePaths = asArray(asRecord(rule.http).paths);
    if (rulePaths.length > MAX_PATHS) {
      problems.push({ field: `spec.rules[${r}].http.paths`, message: `more than ${MAX_PATHS} paths` });
    }
    for (let p = 0; p < rulePaths.length && p < MAX_PATHS; p++) {
      const entry = asRecord(rulePaths[p]);
      if (!hostResult.ok) {
        rejected.push({ ...shownPath(rule, entry), reason: 'InvalidHost', message: hostResult.message });
        continue;
      }
      const pathResult = settings.regexPaths
        ? parseRegexPath(entry.path, entry.pathType)
        : parsePath(entry.path, entry.pathType);
      if (!pathResult.ok) {
        const problem = {
          field: `spec.rules[${r}].http.paths[${p}].${pathResult.field ?? 'path'}`,
          message: pathResult.message,
        };
        problems.push(problem);
        // A pattern that cannot be matched leaves the whole Ingress unrouted (as a bad annotation
        // does): its other patterns were written to be tried in an order with it.
        if (settings.regexPaths) annotationProblems.push(problem);
        rejected.push({ ...shownPath(rule, entry), reason: 'InvalidPath', message: pathResult.message });
        continue;
      }
      const backend = readBackend(entry.backend);
      if ('message' in backend) {
        problems.push({
          field: `spec.rules[${r}].http.paths[${p}].backend${backend.field}`,
          message: backend.message,
        });
        rejected.push({ ...shownPath(rule, entry), reason: 'InvalidBackend', message: backend.message });
        continue;
      }
      const host = hostResult.value;
      const { path, pathType } = pathResult.value;
      if (listed.has(host.host, pathType, path)) {
        const message = `host "${host.host}" path "${path}" (${pathType}) is listed twice in this Ingress`;
        problems.push({ field: `spec.rules[${r}].http.paths[${p}]`, message });
        rejected.push({ ...shownPath(rule, entry), reason: 'DuplicatePath', message });
        continue;
      }
      if (settings.serviceUpstream && !settings.canary) backend.clusterIp = true;
      listed.add({ host, path, pathType, rule: r, index: p, backend });
    }
  }

  let defaultBackend: ServiceRef | undefined;
  if (spec.defaultBackend !== undefined && spec.defaultBackend !== null) {
    const backend = readBackend(spec.defaultBackend);
    if ('message' in backend)
      problems.push({ field: `spec.defaultBackend${backend.field}`, message: backend.message });
    else {
      if (settings.serviceUpstream) backend.clusterIp = true;
      defaultBackend = backend;
    }
  }

  const tls: IngressTls[] = [];
  const tlsEntries = asArray(spec.tls);
  if (tlsEntries.length > MAX_TLS)
    problems.push({ field: 'spec.tls', message: `more than ${MAX_TLS} entries` });
  for (let t = 0; t < tlsEntries.length && t < MAX_TLS; t++) {
    const entry = asRecord(tlsEntries[t]);
    const hosts: string[] = [];
    const rawHosts = asArray(entry.hosts);
    for (let i = 0; i < rawHosts.length; i++) {
      const host = parseHost(rawHosts[i]);
      if (!host.ok || host.value.kind === 'any') {
        problems.push({
          field: `spec.tls[${t}].hosts[${i}]`,
          message: host.ok ? 'a TLS host must be a DNS name' : host.message,
        });
      } else hosts.push(host.value.host);
    }
    const secretName = entry.secretName;
    if (secretName !== undefined && secretName !== null && secretName !== '' && !isDnsSubdomain(secretName)) {
      problems.push({
        field: `spec.tls[${t}].secretName`,
        message: 'must be a Secret name (an RFC 1123 subdomain)',
      });
      continue;
    }
    tls.push({
      hosts,
      secretName: typeof secretName === 'string' && secretName !== '' ? secretName : undefined,
    });
  }

  if (settings.fromToWww && paths.some((p) => p.host.kind !== 'exact')) {
    annotationNotices.push({
      field: 'metadata.annotations["nginx.ingress.kubernetes.io/from-to-www-redirect"]',
      message: 'wildcard rules and rules without a host get no www redirect; exact hosts do',
    });
  }

  if (settings.passthrough) {
    // Passthrough needs a name from the ClientHello and one backend per name: exact hosts, each
    // with a `/` path. Anything else leaves the Ingress unrouted (never terminated instead).
    const field = 'metadata.annotations["nginx.ingress.kubernetes.io/ssl-passthrough"]';
    const refuse = (message: string) => {
      const problem = { field, message };
      problems.push(problem);
      annotationProblems.push(problem);
    };
    if (settings.canary) refuse('a canary Ingress cannot be passed through: its primary decides');
    const roots = new Set(
      paths.filter((p) => p.path === '/' && p.pathType === 'Prefix').map((p) => p.host.host),
    );
    const missing = new Set<string>();
    let inexact = false;
    for (const p of paths) {
      if (p.host.kind !== 'exact') inexact = true;
      else if (!roots.has(p.host.host)) missing.add(p.host.host);
    }
    if (inexact)
      refuse(
        'passthrough is by TLS server name: rules without a host or with a wildcard host cannot be passed through',
      );
    const few = [...missing].sort().slice(0, 5);
    if (few.length > 0)
      refuse(
        `passthrough sends a host's connections to the backend of its "/" path (Prefix); no such path for ${few.map((h) => `"${h}"`).join(', ')}${missing.size > few.length ? ', ...' : ''}`,
      );
    if (paths.length === 0 && annotationProblems.length === 0)
      refuse('no rule with a host and a "/" path to pass through');
  }

  if (settings.canary) {
    // A canary only lends its backend to the primary's routes: what else it says is not used.
    const unused = Object.keys(meta.annotations)
      .filter(
        (k) =>
          (k.startsWith('sluice.dev/') || k.startsWith('nginx.ingress.kubernetes.io/')) &&
          !k.includes('/canary'),
      )
      .sort();
    if (spec.defaultBackend !== undefined && spec.defaultBackend !== null) unused.push('spec.defaultBackend');
    if (tls.length > 0) unused.push('spec.tls');
    if (unused.length > 0) {
      annotationNotices.push({
        field: 'metadata.annotations["nginx.ingress.kubernetes.io/canary"]',
        message: `a canary's routes use its primary Ingress's settings; not used here: ${unused.slice(0, 10).join(', ')}${unused.length > 10 ? ', ...' : ''}`,
      });
    }
    defaultBackend = undefined;
  }

  return {
    meta,
    paths: compact(paths),
    rejected,
    problems,
    annotationProblems,
    annotationNotices,
    settings,
    defaultBackend,
    tls: tls.length > 0 && !settings.canary ? tls : NO_TLS,
  };
}
