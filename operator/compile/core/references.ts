// How the referenced kinds are read: which of their fields matter, and how an object names what
// refers to it (a Service and a Secret by their own name, an EndpointSlice by its Service's label).

import { SERVICE_NAME_LABEL } from './endpoints.ts';
import type { FollowedKind, Reads, References } from './processor.ts';

export interface Followed extends Reads {
  kind: FollowedKind;
  /** Which references point at objects of this kind. */
  via: keyof References;
  /** The name a reference to this object uses, or undefined. */
  referencedName(obj: unknown): string | undefined;
}

function metadata(obj: unknown): { name?: unknown; labels?: Record<string, unknown> } | undefined {
  return (obj as { metadata?: { name?: unknown; labels?: Record<string, unknown> } } | null)?.metadata;
}

function ownName(obj: unknown): string | undefined {
  const name = metadata(obj)?.name;
  return typeof name === 'string' ? name : undefined;
}

export const FOLLOWED: Readonly<Record<FollowedKind, Followed>> = {
  Service: { kind: 'Service', fields: ['spec'], via: 'services', referencedName: ownName },
  EndpointSlice: {
    kind: 'EndpointSlice',
    fields: ['addressType', 'endpoints', 'ports'],
    via: 'services',
    referencedName(obj) {
      const service = metadata(obj)?.labels?.[SERVICE_NAME_LABEL];
      return typeof service === 'string' ? service : undefined;
    },
  },
  Secret: { kind: 'Secret', fields: ['type', 'data'], via: 'secrets', referencedName: ownName },
};
