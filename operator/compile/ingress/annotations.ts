// Typed `sluice.dev/*` annotations. Each has a grammar and bounds; an unknown `sluice.dev/`
// annotation is a problem (a typo must not silently fall back to a default). There is no
// free-text escape hatch. Documented in docs/annotations.md.

import type { RoutePolicy } from '../../../contract/types.ts';
import type { Problem } from '../api.ts';
import { quote } from '../core/objects.ts';
import { hasNginxAnnotations, parseNginxAnnotations } from './nginx/index.ts';
import type { SnippetPolicy } from './nginx/registry.ts';
import type { IngressSettings, SettingsBuilder } from './settings.ts';

export const ANNOTATION_PREFIX = 'sluice.dev/';

export const ANNOTATIONS = {
  sslRedirect: 'sluice.dev/ssl-redirect',
  bodySizeLimit: 'sluice.dev/body-size-limit',
  connectTimeout: 'sluice.dev/connect-timeout',
  responseTimeout: 'sluice.dev/response-timeout',
  backendProtocol: 'sluice.dev/backend-protocol',
} as const;

// Keys in sorted order, as everything the compiler emits (see emit.ts). Frozen: routes of
// Ingresses without Sluice annotations share it.
export const DEFAULT_POLICY: RoutePolicy = Object.freeze({
  connectTimeoutMs: 5_000,
  maxBodyBytes: 1024 * 1024,
  responseTimeoutMs: 60_000,
  upstreamProtocol: 'http',
});

const MAX_BODY_BYTES = 2 ** 40;
const MAX_CONNECT_MS = 300_000;
const MAX_RESPONSE_MS = 3_600_000;

export type { IngressSettings } from './settings.ts';

export interface AnnotationResult {
  settings: IngressSettings;
  /** Values that cannot be served: the Ingress is not routed until they are fixed. */
  problems: Problem[];
  /** Served, with something the user should know (Warning Events, admission warnings). */
  notices: Problem[];
}

const UNITS: Record<string, number> = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 };

/** `1m`, `512k`, `2g` (binary units, case-insensitive, as nginx) or plain bytes. */
export function parseSize(value: string): number | undefined {
  const m = /^([0-9]{1,13})([kmgKMG]?)$/.exec(value);
  if (!m) return undefined;
  return Number(m[1]) * UNITS[m[2].toLowerCase()];
}

const DURATION_UNITS: Record<string, number> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000 };

/** `500ms`, `5s`, `2m`, `1h`, or a sum like `1m30s`. */
export function parseDuration(value: string): number | undefined {
  if (!/^(?:[0-9]{1,7}(?:ms|s|m|h)){1,4}$/.test(value)) return undefined;
  let total = 0;
  for (const m of value.matchAll(/([0-9]+)(ms|s|m|h)/g)) total += Number(m[1]) * DURATION_UNITS[m[2]];
  return total;
}

const DEFAULT_SETTINGS: IngressSettings = Object.freeze({ policy: DEFAULT_POLICY, sslRedirect: true });

const NO_PROBLEMS: Problem[] = [];

export function parseAnnotations(
  annotations: Record<string, string>,
  snippets: SnippetPolicy = 'refuse',
): AnnotationResult {
  let any = false;
  for (const key in annotations) {
    if (key.startsWith(ANNOTATION_PREFIX) && Object.hasOwn(annotations, key)) {
      any = true;
      break;
    }
  }
  const nginx = hasNginxAnnotations(annotations);
  // The usual case: nothing to read, and every such Ingress shares the default settings.
  if (!any && !nginx) return { settings: DEFAULT_SETTINGS, problems: NO_PROBLEMS, notices: NO_PROBLEMS };
  const out: SettingsBuilder = { ...DEFAULT_SETTINGS, policy: { ...DEFAULT_POLICY } };
  // ingress-nginx's annotations first: a `sluice.dev/` annotation with the same meaning wins.
  const { problems, notices } = nginx
    ? parseNginxAnnotations(annotations, out, snippets)
    : { problems: [], notices: [] };
  const policy = out.policy;
  let sslRedirect = out.sslRedirect;
  const problem = (key: string, message: string) =>
    problems.push({ field: `metadata.annotations[${quote(key, 100)}]`, message });

  for (const key of Object.keys(annotations).sort()) {
    if (!key.startsWith(ANNOTATION_PREFIX)) continue;
    const value = annotations[key];
    switch (key) {
      case ANNOTATIONS.sslRedirect:
        if (value === 'true' || value === 'false') sslRedirect = value === 'true';
        else problem(key, `must be "true" or "false", not ${quote(value)}`);
        break;
      case ANNOTATIONS.bodySizeLimit: {
        const bytes = parseSize(value);
        if (bytes === undefined)
          problem(key, `must be a size like 1m, 512k or 1048576 (bytes), not ${quote(value)}`);
        else if (bytes < 1 || bytes > MAX_BODY_BYTES) problem(key, 'must be between 1 byte and 1024g');
        else policy.maxBodyBytes = bytes;
        break;
      }
      case ANNOTATIONS.connectTimeout:
      case ANNOTATIONS.responseTimeout: {
        const connect = key === ANNOTATIONS.connectTimeout;
        const max = connect ? MAX_CONNECT_MS : MAX_RESPONSE_MS;
        const ms = parseDuration(value);
        if (ms === undefined)
          problem(key, `must be a duration like 500ms, 5s, 2m or 1m30s, not ${quote(value)}`);
        else if (ms < 1 || ms > max) problem(key, `must be between 1ms and ${connect ? '5m' : '1h'}`);
        else if (connect) policy.connectTimeoutMs = ms;
        else policy.responseTimeoutMs = ms;
        break;
      }
      case ANNOTATIONS.backendProtocol:
        if (value === 'HTTP' || value === 'HTTPS')
          policy.upstreamProtocol = value === 'HTTP' ? 'http' : 'https';
        else problem(key, `must be "HTTP" or "HTTPS", not ${quote(value)}`);
        break;
      default:
        problem(
          key,
          `unknown Sluice annotation; known ones are ${Object.values(ANNOTATIONS).join(', ')} (see docs/annotations.md)`,
        );
    }
  }
  out.sslRedirect = sslRedirect;
  // Keys in sorted order (see emit.ts).
  out.policy = sortKeys(policy);
  return { settings: out, problems, notices };
}

function sortKeys<T extends object>(value: T): T {
  const out = {} as T;
  for (const key of Object.keys(value).sort() as Array<keyof T>) out[key] = value[key];
  return out;
}
