// IngressClass selection: which Ingresses are Sluice's (classes.ts). Runs first: every later step
// reads only the Ingresses it selects.

import { LAST_APPLIED_ANNOTATION, type Processor } from '../core/processor.ts';
import { DEFAULT_CLASS_ANNOTATION } from './classes.ts';
import { ClassesStage } from './stage.ts';

function classFacts(obj: unknown): { controller: unknown; isDefault: boolean } {
  const o = obj as {
    spec?: { controller?: unknown };
    metadata?: { annotations?: Record<string, unknown> };
  } | null;
  return {
    controller: o?.spec?.controller,
    isDefault: o?.metadata?.annotations?.[DEFAULT_CLASS_ANNOTATION] === 'true',
  };
}

export const classesProcessor: Processor = {
  name: 'classes',
  step: 10,
  reads: [
    {
      kind: 'IngressClass',
      fields: ['spec', 'metadata.annotations'],
      ignoredAnnotations: [LAST_APPLIED_ANNOTATION],
    },
  ],
  follows: [],
  // Only Sluice's classes and default classes take part in class selection (in ingress-nginx mode
  // also ingress-nginx's and those named like a taken-over class: the store checks those itself).
  relevant(kind, obj, controllerName) {
    if (kind !== 'IngressClass') return true;
    const { controller, isDefault } = classFacts(obj);
    return controller === controllerName || isDefault;
  },
  stage: (shared) => new ClassesStage(shared),
};
