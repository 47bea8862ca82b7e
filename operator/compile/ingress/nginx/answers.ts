// Sluice's answer to each ingress-nginx annotation, for the migration table (hack/nginx-table.ts)
// and the migration audit (hack/migrate-audit.ts): served (by a group), served with a difference,
// or the registry's refused / ignored / not served; `unknown` for a name ingress-nginx does not
// document.

import { quote } from '../../core/objects.ts';
import { parseAnnotations } from '../annotations.ts';
import { NGINX_PREFIX } from './group.ts';
import { servedNginxAnnotations } from './index.ts';
import { closestNginxAnnotation, NGINX_ANNOTATIONS, type SnippetPolicy, UNSERVED } from './registry.ts';

export type AnswerStatus = 'served' | 'differs' | 'refused' | 'ignored' | 'not-served' | 'unknown';

export interface Answer {
  /** Short name, without the prefix. */
  name: string;
  status: AnswerStatus;
  /** Why (empty for plainly served names). */
  reason: string;
}

/** Every known name with its answer, sorted by name. */
export function annotationTable(): Answer[] {
  const served = servedNginxAnnotations();
  const names = new Set([...NGINX_ANNOTATIONS, ...served.keys()]);
  return [...names].sort().map((name) => answerByName(name, served));
}

function answerByName(name: string, served = servedNginxAnnotations()): Answer {
  const s = served.get(name);
  if (s)
    return s.difference === undefined
      ? { name, status: 'served', reason: '' }
      : { name, status: 'differs', reason: s.difference };
  const entry = Object.hasOwn(UNSERVED, name) ? UNSERVED[name] : undefined;
  if (entry) {
    const reason = entry.kind === 'snippet' ? `${entry.reason} (snippet policy)` : entry.reason;
    return { name, status: entry.status, reason };
  }
  if (NGINX_ANNOTATIONS.includes(name)) return { name, status: 'not-served', reason: 'not served yet' };
  const closest = closestNginxAnnotation(name);
  return {
    name,
    status: 'unknown',
    reason: `not an ingress-nginx annotation${closest ? `; did you mean ${closest}?` : ''}`,
  };
}

/**
 * The answer for each `nginx.ingress.kubernetes.io/*` annotation of one Ingress, as the compiler
 * would give it with this snippet policy: a value a served group cannot take is `refused` with the
 * group's message; a refused name whose value asks for nothing is `not-served`.
 */
export function auditAnnotations(annotations: Record<string, string>, snippets: SnippetPolicy): Answer[] {
  const { problems } = parseAnnotations(annotations, snippets);
  const problemByField = new Map<string, string>();
  for (const p of problems) if (!problemByField.has(p.field)) problemByField.set(p.field, p.message);
  const served = servedNginxAnnotations();
  const out: Answer[] = [];
  for (const key of Object.keys(annotations).sort()) {
    if (!key.startsWith(NGINX_PREFIX)) continue;
    const name = key.slice(NGINX_PREFIX.length);
    const answer = answerByName(name, served);
    const problem = problemByField.get(`metadata.annotations[${quote(key, 100)}]`);
    if (problem !== undefined) out.push({ name, status: 'refused', reason: problem });
    else if (answer.status === 'refused') {
      const entry = UNSERVED[name];
      const inert = entry?.inert?.includes(annotations[key].trim().toLowerCase());
      if (inert)
        out.push({ name, status: 'not-served', reason: `${entry.reason} (this value asks for nothing)` });
      else out.push(answer);
    } else out.push(answer);
  }
  return out;
}

/** Whether an answer means the Ingress would not behave as it did under ingress-nginx. */
export function isShortfall(status: AnswerStatus): boolean {
  return status === 'refused' || status === 'not-served' || status === 'unknown';
}
