// validateIngress: what is wrong with one Ingress by itself (hosts, paths, backends, TLS entries,
// sluice.dev/ annotations), with the same rules compile applies. Conflicts with other objects
// are the claim index's job.

import type { V1Ingress } from '@kubernetes/client-node';
import type { Problem } from '../api.ts';
import { parseIngress } from './ingress.ts';

export function validateIngress(ingress: V1Ingress): Problem[] {
  try {
    const parsed = parseIngress(ingress);
    if (!parsed) return [{ field: 'metadata', message: 'needs a namespace and a name' }];
    return parsed.problems;
  } catch {
    return [{ field: '', message: 'the object could not be read' }];
  }
}
