// RouteRatio splits: weighted and sticky splits of the routes to one Service. Runs after the
// Ingress step, whose routes it splits.

import type { RouteRatio } from '../api.ts';
import type { Processor, References } from '../core/processor.ts';
import { RouteRatioStage } from './stage.ts';

/** The Services a RouteRatio names: the one it splits and its backends. */
export function routeRatioReferences(obj: unknown): References {
  const rr = obj as { metadata?: { namespace?: string }; spec?: Partial<RouteRatio['spec']> } | null;
  const ns = rr?.metadata?.namespace ?? '';
  const services: string[] = [];
  const spec = rr?.spec;
  if (spec?.service?.name) services.push(`${ns}/${spec.service.name}`);
  for (const b of spec?.backends ?? []) if (b?.name) services.push(`${ns}/${b.name}`);
  return { services, secrets: [] };
}

export const routeRatioProcessor: Processor = {
  name: 'routeratio',
  step: 30,
  reads: [
    {
      kind: 'RouteRatio',
      fields: [
        'spec',
        'metadata.generation',
        'metadata.uid',
        'metadata.creationTimestamp',
        'metadata.deletionTimestamp',
      ],
    },
  ],
  follows: ['Service', 'EndpointSlice'],
  references: (kind, obj) => (kind === 'RouteRatio' ? routeRatioReferences(obj) : undefined),
  stage: (shared) => new RouteRatioStage(shared),
};
