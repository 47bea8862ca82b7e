// The snippet policy flag, read the same way by the operator and the admission webhook so that
// both decide alike about ingress-nginx annotations that are nginx text.

import type { FlagSpecs, Flags } from '../../../../contract/flags.ts';
import type { SnippetPolicy } from './registry.ts';

export const NGINX_SNIPPET_FLAGS: FlagSpecs = {
  'ingress-nginx-snippets': {
    help:
      'ingress-nginx annotations that are nginx text (configuration-snippet, ...): refuse (the Ingress is ' +
      'not served) or warn (served without them); never interpreted',
    default: 'refuse',
  },
};

export function readNginxSnippets(f: Flags): SnippetPolicy {
  return f.oneOf('ingress-nginx-snippets', ['refuse', 'warn'] as const);
}
