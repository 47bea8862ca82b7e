// One Ingress read into routing claims: each (host, path, pathType) with its backend, and the
// paths that are invalid with the reason. Shared by compile, the claim index and validateIngress,
// so all three see the same routes.

import { type IngressSettings, parseAnnotations } from './annotations.ts';
import type { Problem } from './api.ts';
import { type PortRef, readPortRef } from './endpoints.ts';
import { type Host, parseHost } from './hosts.ts';
import {
  asArray,
  asRecord,
  isDnsSubdomain,
  isRecord,
  isServiceName,
  type Meta,
  readMeta,
  safeText,
} from './objects.ts';
import { type PathType, parsePath } from './paths.ts';

export interface ServiceRef {
  name: string;
  port: PortRef;
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
  settings: IngressSettings;
  defaultBackend?: ServiceRef;
  tls: IngressTls[];
}

/** Bounds that keep one object from costing unbounded work. */
const MAX_RULES = 1_000;
const MAX_PATHS = 1_000;
const MAX_TLS = 100;

export function claimKey(host: string, pathType: PathType, path: string): string {
  return `${host} ${pathType} ${path}`;
}

function readBackend(raw: unknown, field: string, problems: Problem[]): ServiceRef | undefined {
  const backend = asRecord(raw);
  if (backend.resource !== undefined) {
    problems.push({
      field: `${field}.resource`,
      message: 'resource backends are not supported; use a Service',
    });
    return undefined;
  }
  if (!isRecord(backend.service)) {
    problems.push({ field: `${field}.service`, message: 'a Service backend is required' });
    return undefined;
  }
  const name = backend.service.name;
  if (!isServiceName(name)) {
    problems.push({ field: `${field}.service.name`, message: 'must be a Service name (an RFC 1035 label)' });
    return undefined;
  }
  const port = readPortRef(backend.service.port);
  if (!port) {
    problems.push({
      field: `${field}.service.port`,
      message: 'must give exactly one of a port number (1-65535) or a port name',
    });
    return undefined;
  }
  return { name, port };
}

export function parseIngress(ingress: unknown): ParsedIngress | undefined {
  const meta = readMeta(ingress);
  if (!meta || !isRecord(ingress)) return undefined;
  const spec = asRecord(ingress.spec);
  const { settings, problems: annotationProblems } = parseAnnotations(meta.annotations);
  const problems: Problem[] = [...annotationProblems];
  const paths: IngressPath[] = [];
  const rejected: RejectedPath[] = [];
  const seen = new Set<string>();

  for (const key of ['rules', 'tls'] as const) {
    if (spec[key] !== undefined && spec[key] !== null && !Array.isArray(spec[key])) {
      problems.push({ field: `spec.${key}`, message: 'must be a list' });
    }
  }
  const rules = asArray(spec.rules);
  if (rules.length > MAX_RULES)
    problems.push({ field: 'spec.rules', message: `more than ${MAX_RULES} rules` });
  rules.slice(0, MAX_RULES).forEach((rawRule, r) => {
    const rule = asRecord(rawRule);
    const hostResult = parseHost(rule.host);
    if (!hostResult.ok) problems.push({ field: `spec.rules[${r}].host`, message: hostResult.message });
    const http = asRecord(rule.http);
    const rulePaths = asArray(http.paths);
    if (rulePaths.length > MAX_PATHS) {
      problems.push({ field: `spec.rules[${r}].http.paths`, message: `more than ${MAX_PATHS} paths` });
    }
    rulePaths.slice(0, MAX_PATHS).forEach((rawPath, p) => {
      const field = `spec.rules[${r}].http.paths[${p}]`;
      const entry = asRecord(rawPath);
      const shown = {
        host: typeof rule.host === 'string' ? safeText(rule.host) : rule.host === undefined ? '*' : '',
        path: typeof entry.path === 'string' ? safeText(entry.path) : '',
        pathType: typeof entry.pathType === 'string' ? safeText(entry.pathType, 40) : '',
      };
      if (!hostResult.ok) {
        rejected.push({ ...shown, reason: 'InvalidHost', message: hostResult.message });
        return;
      }
      const pathResult = parsePath(entry.path, entry.pathType);
      if (!pathResult.ok) {
        problems.push({ field: `${field}.${pathResult.field ?? 'path'}`, message: pathResult.message });
        rejected.push({ ...shown, reason: 'InvalidPath', message: pathResult.message });
        return;
      }
      const before = problems.length;
      const backend = readBackend(entry.backend, `${field}.backend`, problems);
      if (!backend) {
        rejected.push({
          ...shown,
          reason: 'InvalidBackend',
          message: problems[before]?.message ?? 'invalid backend',
        });
        return;
      }
      const { path, pathType } = pathResult.value;
      const key = claimKey(hostResult.value.host, pathType, path);
      if (seen.has(key)) {
        const message = `host "${hostResult.value.host}" path "${path}" (${pathType}) is listed twice in this Ingress`;
        problems.push({ field, message });
        rejected.push({ ...shown, reason: 'DuplicatePath', message });
        return;
      }
      seen.add(key);
      paths.push({ host: hostResult.value, path, pathType, rule: r, index: p, backend });
    });
  });

  let defaultBackend: ServiceRef | undefined;
  if (spec.defaultBackend !== undefined && spec.defaultBackend !== null) {
    defaultBackend = readBackend(spec.defaultBackend, 'spec.defaultBackend', problems);
  }

  const tls: IngressTls[] = [];
  const tlsEntries = asArray(spec.tls);
  if (tlsEntries.length > MAX_TLS)
    problems.push({ field: 'spec.tls', message: `more than ${MAX_TLS} entries` });
  tlsEntries.slice(0, MAX_TLS).forEach((rawTls, t) => {
    const entry = asRecord(rawTls);
    const hosts: string[] = [];
    asArray(entry.hosts).forEach((h, i) => {
      const host = parseHost(h);
      if (!host.ok || host.value.kind === 'any') {
        problems.push({
          field: `spec.tls[${t}].hosts[${i}]`,
          message: host.ok ? 'a TLS host must be a DNS name' : host.message,
        });
      } else hosts.push(host.value.host);
    });
    const secretName = entry.secretName;
    if (secretName !== undefined && secretName !== null && secretName !== '' && !isDnsSubdomain(secretName)) {
      problems.push({
        field: `spec.tls[${t}].secretName`,
        message: 'must be a Secret name (an RFC 1123 subdomain)',
      });
      return;
    }
    tls.push({
      hosts,
      secretName: typeof secretName === 'string' && secretName !== '' ? secretName : undefined,
    });
  });

  return { meta, paths, rejected, problems, annotationProblems, settings, defaultBackend, tls };
}
