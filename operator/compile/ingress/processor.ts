// The Ingress API: hosts, paths, claims between Ingresses, TLS and the default backend.

import { LAST_APPLIED_ANNOTATION, type Processor, type References } from '../core/processor.ts';
import { parseSecretRef } from './nginx/auth.ts';
import { NGINX_PREFIX } from './nginx/group.ts';
import { IngressStage } from './stage.ts';

type IngressLike = {
  metadata?: { namespace?: string };
  spec?: {
    defaultBackend?: { service?: { name?: string } };
    rules?: Array<{ http?: { paths?: Array<{ backend?: { service?: { name?: string } } }> } }>;
    tls?: Array<{ secretName?: string }>;
  };
};

/** The Services and Secrets an Ingress names (as written; unreadable entries name nothing). */
export function ingressReferences(obj: unknown): References {
  const ing = obj as IngressLike | null;
  const ns = ing?.metadata?.namespace ?? '';
  const services: string[] = [];
  const secrets: string[] = [];
  const def = ing?.spec?.defaultBackend?.service?.name;
  if (def) services.push(`${ns}/${def}`);
  for (const rule of ing?.spec?.rules ?? []) {
    for (const p of rule?.http?.paths ?? []) {
      const name = p?.backend?.service?.name;
      if (name) services.push(`${ns}/${name}`);
    }
  }
  for (const tls of ing?.spec?.tls ?? []) {
    if (tls?.secretName) secrets.push(`${ns}/${tls.secretName}`);
  }
  // A basic-auth Secret (ingress-nginx's `auth-secret`), only in the Ingress's own namespace.
  const annotations = (obj as { metadata?: { annotations?: Record<string, unknown> } } | null)?.metadata
    ?.annotations;
  const authSecret = annotations?.[`${NGINX_PREFIX}auth-secret`];
  if (typeof authSecret === 'string' && annotations?.[`${NGINX_PREFIX}auth-type`] !== undefined) {
    const ref = parseSecretRef(authSecret);
    if (ref && (ref.namespace ?? ns) === ns) secrets.push(`${ns}/${ref.name}`);
  }
  return { services, secrets };
}

export const ingressProcessor: Processor = {
  name: 'ingress',
  step: 20,
  reads: [
    {
      kind: 'Ingress',
      // Never its status or bookkeeping metadata. A deletionTimestamp releases it.
      fields: [
        'spec',
        'metadata.annotations',
        'metadata.uid',
        'metadata.generation',
        'metadata.creationTimestamp',
        'metadata.deletionTimestamp',
      ],
      ignoredAnnotations: [LAST_APPLIED_ANNOTATION],
    },
  ],
  follows: ['Service', 'EndpointSlice', 'Secret'],
  references: (kind, obj) => (kind === 'Ingress' ? ingressReferences(obj) : undefined),
  stage: (shared) => new IngressStage(shared),
};
