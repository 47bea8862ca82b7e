// RouteRatio: validation (everything, since the compiler cannot assume the CRD schema ran), the
// split it produces for a route, and its status (conditions, per-backend shares, summary).

import { limits, patterns } from '../../../contract/schema.ts';
import type { Split } from '../../../contract/types.ts';
import type {
  CompiledRouteRatioStatus,
  Condition,
  Problem,
  RouteRatio,
  RouteRatioBackendStatus,
} from '../api.ts';
import {
  type PortRef,
  portLiteral,
  type ResolvedBackend,
  readPortRef,
  type ServiceIndex,
} from '../core/endpoints.ts';
import {
  asArray,
  asRecord,
  isDnsSubdomain,
  isRecord,
  isServiceName,
  type Meta,
  readMeta,
} from '../core/objects.ts';
import type { ServiceRef } from '../ingress/ingress.ts';

export const MAX_BACKENDS = limits.splitBackends;
export const MAX_OVERRIDES = limits.overrides;
export const MAX_INGRESSES = 64;
export const MAX_WEIGHT = 10_000;

const HEADER_NAME = /^[A-Za-z0-9](?:[-A-Za-z0-9]*[A-Za-z0-9])?$/;
const HEADER_VALUE = new RegExp(patterns.headerValue, 'u');
const COOKIE_NAME = new RegExp(patterns.cookieName, 'u');
const COOKIE_VALUE = new RegExp(patterns.cookieValue, 'u');

export interface ParsedBackend {
  name: string;
  port: PortRef;
  weight: number;
}

export interface ParsedOverride {
  header?: { name: string; value: string };
  cookie?: { name: string; value: string };
  backend: string;
}

export interface ParsedRouteRatio {
  meta: Meta;
  service: ServiceRef;
  /** Names of the Ingresses (same namespace) it applies to; undefined means all. */
  ingresses?: Set<string>;
  backends: ParsedBackend[];
  sticky?: { cookie?: { name: string }; header?: { name: string } };
  overrides: ParsedOverride[];
}

export interface RouteRatioParse {
  meta?: Meta;
  value?: ParsedRouteRatio;
  problems: Problem[];
}

function readHeaderName(raw: unknown, field: string, problems: Problem[]): string | undefined {
  if (typeof raw !== 'string' || raw.length > limits.headerNameChars || !HEADER_NAME.test(raw)) {
    problems.push({ field, message: 'must be an HTTP header name: letters, digits and inner dashes' });
    return undefined;
  }
  return raw.toLowerCase();
}

function readCookieName(raw: unknown, field: string, problems: Problem[]): string | undefined {
  if (typeof raw !== 'string' || raw.length > limits.cookieNameChars || !COOKIE_NAME.test(raw)) {
    problems.push({ field, message: 'must be a cookie name (an RFC 7230 token)' });
    return undefined;
  }
  return raw;
}

/** Exactly one of `cookie` or `header`, each `{name}` (plus `value` for overrides). */
function readMatch(
  raw: Record<string, unknown>,
  field: string,
  withValue: boolean,
  problems: Problem[],
): { header?: { name: string; value: string }; cookie?: { name: string; value: string } } | undefined {
  const hasCookie = raw.cookie !== undefined && raw.cookie !== null;
  const hasHeader = raw.header !== undefined && raw.header !== null;
  if (hasCookie === hasHeader) {
    problems.push({ field, message: 'must set exactly one of cookie or header' });
    return undefined;
  }
  const kind = hasCookie ? 'cookie' : 'header';
  const entry = asRecord(raw[kind]);
  const name =
    kind === 'cookie'
      ? readCookieName(entry.name, `${field}.${kind}.name`, problems)
      : readHeaderName(entry.name, `${field}.${kind}.name`, problems);
  let value = '';
  if (withValue) {
    const ok =
      typeof entry.value === 'string' &&
      entry.value.length <= (kind === 'cookie' ? limits.cookieValueChars : limits.headerValueChars) &&
      (kind === 'cookie' ? COOKIE_VALUE : HEADER_VALUE).test(entry.value);
    if (!ok) {
      problems.push({
        field: `${field}.${kind}.value`,
        message:
          kind === 'cookie'
            ? 'must be a cookie value: visible ASCII without spaces, quotes, commas, semicolons or backslashes'
            : 'must be visible ASCII (inner spaces allowed), no control characters',
      });
      return undefined;
    }
    value = entry.value as string;
  }
  if (name === undefined) return undefined;
  return { [kind]: withValue ? { name, value } : { name } };
}

function readPort(raw: unknown, field: string, problems: Problem[]): PortRef | undefined {
  const port = readPortRef(raw);
  if (!port)
    problems.push({ field, message: 'must give exactly one of number (1-65535) or name (a port name)' });
  return port;
}

export function parseRouteRatio(rr: unknown): RouteRatioParse {
  const problems: Problem[] = [];
  const meta = readMeta(rr);
  if (!meta || !isRecord(rr)) {
    problems.push({ field: 'metadata', message: 'needs a namespace and a name' });
    return { problems };
  }
  const spec = asRecord(rr.spec);

  const svc = asRecord(spec.service);
  let service: ServiceRef | undefined;
  if (!isServiceName(svc.name)) {
    problems.push({ field: 'spec.service.name', message: 'must be a Service name (an RFC 1035 label)' });
  }
  const servicePort = readPort(svc.port, 'spec.service.port', problems);
  if (isServiceName(svc.name) && servicePort) service = { name: svc.name, port: servicePort };

  let ingresses: Set<string> | undefined;
  if (spec.ingresses !== undefined && spec.ingresses !== null) {
    const list = asArray(spec.ingresses);
    if (!Array.isArray(spec.ingresses) || list.length === 0 || list.length > MAX_INGRESSES) {
      problems.push({
        field: 'spec.ingresses',
        message: `must list 1 to ${MAX_INGRESSES} Ingress names, or be left out`,
      });
    } else {
      ingresses = new Set();
      list.forEach((name, i) => {
        if (!isDnsSubdomain(name)) {
          problems.push({ field: `spec.ingresses[${i}]`, message: 'must be an Ingress name' });
        } else if (ingresses?.has(name)) {
          problems.push({ field: `spec.ingresses[${i}]`, message: `Ingress "${name}" is listed twice` });
        } else ingresses?.add(name);
      });
    }
  }

  const backends: ParsedBackend[] = [];
  const rawBackends = asArray(spec.backends);
  if (rawBackends.length < 1 || rawBackends.length > MAX_BACKENDS) {
    problems.push({ field: 'spec.backends', message: `must list 1 to ${MAX_BACKENDS} backends` });
  }
  const names = new Set<string>();
  rawBackends.slice(0, MAX_BACKENDS).forEach((raw, i) => {
    const b = asRecord(raw);
    const field = `spec.backends[${i}]`;
    let ok = true;
    if (!isServiceName(b.name)) {
      problems.push({ field: `${field}.name`, message: 'must be a Service name (an RFC 1035 label)' });
      ok = false;
    } else if (names.has(b.name)) {
      problems.push({ field: `${field}.name`, message: `backend "${b.name}" is listed twice` });
      ok = false;
    } else names.add(b.name);
    const port = readPort(b.port, `${field}.port`, problems);
    const weight = b.weight;
    if (typeof weight !== 'number' || !Number.isInteger(weight) || weight < 0 || weight > MAX_WEIGHT) {
      problems.push({ field: `${field}.weight`, message: `must be a whole number from 0 to ${MAX_WEIGHT}` });
      ok = false;
    }
    if (ok && port && isServiceName(b.name)) {
      backends.push({ name: b.name, port, weight: weight as number });
    }
  });

  let sticky: ParsedRouteRatio['sticky'];
  if (spec.sticky !== undefined && spec.sticky !== null) {
    sticky = readMatch(asRecord(spec.sticky), 'spec.sticky', false, problems);
  }

  const overrides: ParsedOverride[] = [];
  const rawOverrides = asArray(spec.overrides);
  if (rawOverrides.length > MAX_OVERRIDES) {
    problems.push({ field: 'spec.overrides', message: `must list at most ${MAX_OVERRIDES} overrides` });
  }
  rawOverrides.slice(0, MAX_OVERRIDES).forEach((raw, i) => {
    const o = asRecord(raw);
    const field = `spec.overrides[${i}]`;
    const match = readMatch(o, field, true, problems);
    if (typeof o.backend !== 'string' || !names.has(o.backend)) {
      problems.push({ field: `${field}.backend`, message: 'must be the name of one of spec.backends' });
      return;
    }
    if (match) overrides.push({ ...match, backend: o.backend });
  });

  if (problems.length > 0 || !service) return { meta, problems };
  return { meta, problems, value: { meta, service, ingresses, backends, sticky, overrides } };
}

export function validateRouteRatio(rr: RouteRatio): Problem[] {
  try {
    return parseRouteRatio(rr).problems;
  } catch {
    return [{ field: '', message: 'the object could not be read' }];
  }
}

/** The split a RouteRatio puts on every route it applies to. */
export function routeRatioSplit(rr: ParsedRouteRatio, resolved: ResolvedBackend[]): Split {
  const byName = new Map(rr.backends.map((b, i) => [b.name, resolved[i].key]));
  // Keys in sorted order (see emit.ts).
  const split: Split = {
    backends: rr.backends.map((b, i) => ({ backend: resolved[i].key, name: b.name, weight: b.weight })),
    mode: rr.sticky ? 'sticky' : 'weighted',
    overrides: rr.overrides.map((o) => {
      const backend = byName.get(o.backend) ?? '';
      return o.cookie ? { backend, cookie: o.cookie } : { backend, header: o.header };
    }),
    routeRatio: rr.meta.key,
  };
  if (rr.sticky) split.sticky = rr.sticky;
  return split;
}

export function resolveRouteRatioBackends(rr: ParsedRouteRatio, services: ServiceIndex): ResolvedBackend[] {
  return rr.backends.map((b) => services.resolve(rr.meta.namespace, b.name, b.port));
}

/** Percent of traffic, two decimals. */
export function percentOf(weight: number, total: number): number {
  return total === 0 ? 0 : Math.round((weight * 10_000) / total) / 100;
}

export function summary(backends: RouteRatioBackendStatus[]): string {
  return backends.map((b) => `${b.name}=${b.percent}%`).join(' ');
}

export function backendStatuses(
  rr: ParsedRouteRatio,
  resolved: ResolvedBackend[],
): RouteRatioBackendStatus[] {
  const total = rr.backends.reduce((sum, b) => sum + b.weight, 0);
  return rr.backends.map((b, i) => ({
    name: b.name,
    weight: b.weight,
    percent: percentOf(b.weight, total),
    readyEndpoints: resolved[i].readyEndpoints,
  }));
}

const REASON_ORDER = ['ServiceNotFound', 'ExternalNameRefused', 'PortNotFound', 'NoReadyEndpoints'];
const STATUS_REASON: Record<string, string> = {
  ServiceNotFound: 'BackendNotFound',
  ExternalNameRefused: 'UnsupportedBackend',
  PortNotFound: 'PortNotFound',
  NoReadyEndpoints: 'NoReadyEndpoints',
};

/** ResolvedRefs: every backend Service exists, is routable and has ready endpoints. */
export function resolvedRefsCondition(
  rr: ParsedRouteRatio,
  resolved: ResolvedBackend[],
  generation: number,
): Condition {
  const failures: Array<{ reason: string; text: string }> = [];
  rr.backends.forEach((b, i) => {
    const r = resolved[i];
    if (r.problem) failures.push({ reason: r.problem.reason, text: `${b.name}: ${r.problem.message}` });
    else if (r.readyEndpoints === 0) {
      failures.push({
        reason: 'NoReadyEndpoints',
        text: `${b.name}: Service ${rr.meta.namespace}/${b.name} port ${portLiteral(b.port)} has no ready endpoints`,
      });
    }
  });
  if (failures.length === 0) {
    return {
      type: 'ResolvedRefs',
      status: 'True',
      reason: 'ResolvedRefs',
      message: `all ${rr.backends.length} backends have ready endpoints`,
      observedGeneration: generation,
    };
  }
  const worst = failures
    .map((f) => f.reason)
    .sort((a, b) => REASON_ORDER.indexOf(a) - REASON_ORDER.indexOf(b))[0];
  return {
    type: 'ResolvedRefs',
    status: 'False',
    reason: STATUS_REASON[worst] ?? worst,
    message: `${failures.map((f) => f.text).join('; ')}; requests for those backends' share answer 503`,
    observedGeneration: generation,
  };
}

export function notAcceptedStatus(
  meta: Meta,
  reason: string,
  message: string,
  backends: RouteRatioBackendStatus[] = [],
): CompiledRouteRatioStatus {
  return {
    observedGeneration: meta.generation,
    conditions: [
      { type: 'Accepted', status: 'False', reason, message, observedGeneration: meta.generation },
      {
        type: 'ResolvedRefs',
        status: 'Unknown',
        reason: 'NotAccepted',
        message: 'references are checked once the RouteRatio is accepted',
        observedGeneration: meta.generation,
      },
    ],
    backends,
    summary: backends.length > 0 ? summary(backends) : '',
  };
}
