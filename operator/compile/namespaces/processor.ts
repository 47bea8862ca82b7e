// Namespace state: a namespace being deleted releases its Ingresses and RouteRatios (see
// core/released.ts). Runs first: every later step reads only objects that are not released.

import type { Processor } from '../core/processor.ts';
import { namespaceState } from '../core/released.ts';
import { NamespacesStage } from './stage.ts';

export const namespacesProcessor: Processor = {
  name: 'namespaces',
  step: 5,
  // A namespace is terminating when its phase says so or its deletionTimestamp is set.
  reads: [{ kind: 'Namespace', fields: ['status.phase', 'metadata.deletionTimestamp'] }],
  follows: [],
  // Only terminating namespaces take part: they are the ones the snapshot lists.
  relevant: (kind, obj) => kind !== 'Namespace' || namespaceState(obj)?.terminating === true,
  stage: (shared) => new NamespacesStage(shared),
};
