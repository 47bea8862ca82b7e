// ingress-nginx annotations served in place: each group of annotations is a module that reads its
// names into the Ingress's settings. The table of every ingress-nginx annotation and Sluice's
// answer to it is docs/migrate-from-ingress-nginx.md.

import type { Problem } from '../../api.ts';
import { quote } from '../../core/objects.ts';
import { access } from './access.ts';
import { auth } from './auth.ts';
import { canary } from './canary.ts';
import { cors } from './cors.ts';
import { NGINX_PREFIX, type NginxGroup, type NginxReader, type SettingsBuilder } from './group.ts';
import { limits } from './limits.ts';
import { passthroughGroup } from './passthrough.ts';
import { pathsGroup } from './paths.ts';
import { redirects } from './redirects.ts';
import { closestNginxAnnotation, isKnownNginxAnnotation, type SnippetPolicy, UNSERVED } from './registry.ts';
import { upstreamGroup } from './upstream.ts';

export { NGINX_PREFIX } from './group.ts';

// In the order they are read; each reads only its own names.
const GROUPS: readonly NginxGroup[] = [
  canary,
  pathsGroup,
  redirects,
  access,
  cors,
  auth,
  limits,
  upstreamGroup,
  passthroughGroup,
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
  snippets: SnippetPolicy = 'refuse',
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
    answerUnserved(name, annotations[key], snippets, read);
  }
  return { problems, notices };
}

/** Names in GROUPS (served), for the registry's checks, the table and the audit. */
export function servedNginxAnnotations(): ReadonlyMap<string, { difference?: string }> {
  const out = new Map<string, { difference?: string }>();
  for (const group of GROUPS) {
    for (const name of group.names) {
      const difference = group.differences?.[name];
      out.set(name, difference === undefined ? {} : { difference });
    }
  }
  return out;
}

/** What the user is told about a name no group reads: a problem (not routed) or a notice. */
function answerUnserved(name: string, value: string, snippets: SnippetPolicy, read: NginxReader): void {
  const entry = Object.hasOwn(UNSERVED, name) ? UNSERVED[name] : undefined;
  if (!entry) {
    if (isKnownNginxAnnotation(name)) {
      read.notice(
        name,
        'not served yet; the Ingress is served without it (see docs/migrate-from-ingress-nginx.md)',
      );
      return;
    }
    const closest = closestNginxAnnotation(name);
    read.notice(
      name,
      `unknown ingress-nginx annotation${closest ? `; did you mean ${NGINX_PREFIX}${closest}?` : ''}`,
    );
    return;
  }
  if (entry.status === 'ignored') {
    read.notice(name, `ignored: ${entry.reason}; the Ingress is served without it`);
    return;
  }
  if (entry.status === 'not-served') {
    read.notice(name, `not served: ${entry.reason}; the Ingress is served without it`);
    return;
  }
  if (entry.inert?.includes(value.trim().toLowerCase())) {
    read.notice(
      name,
      `not served: ${entry.reason}; with this value it asks for nothing, so the Ingress is served`,
    );
    return;
  }
  if (entry.kind === 'snippet' && snippets === 'warn') {
    read.notice(name, `served without it, never interpreted (snippet policy warn): ${entry.reason}`);
    return;
  }
  const remedy =
    entry.kind === 'snippet'
      ? 'remove it (or set the snippet policy to warn to serve the Ingress without it)'
      : 'remove it once the Ingress is safe without it';
  read.problem(name, `refused: ${entry.reason}; ${remedy}`);
}
