// validateIngress: what is wrong with one Ingress by itself (hosts, paths, backends, TLS entries,
// sluice.dev/ annotations), with the same rules compile applies. Conflicts with other objects
// are the claim index's job.

import type { V1Ingress } from '@kubernetes/client-node';
import type { CompileOptions, Problem } from '../api.ts';
import { parseIngress } from './ingress.ts';

export function validateIngress(ingress: V1Ingress, options?: CompileOptions): Problem[] {
  try {
    const parsed = parseIngress(ingress, options?.nginxSnippets === 'warn' ? 'warn' : 'refuse');
    if (!parsed) return [{ field: 'metadata', message: 'needs a namespace and a name' }];
    return parsed.problems;
  } catch {
    return [{ field: '', message: 'the object could not be read' }];
  }
}

/**
 * What the user should know about an Ingress that is served anyway: ingress-nginx annotations not
 * served, ignored or unknown, and served ones with a difference. One entry per annotation.
 */
export function ingressNotices(ingress: V1Ingress, options?: CompileOptions): Problem[] {
  try {
    return (
      parseIngress(ingress, options?.nginxSnippets === 'warn' ? 'warn' : 'refuse')?.annotationNotices ?? []
    );
  } catch {
    return [];
  }
}
