// The ingress-nginx mode's flags, read the same way by the operator and the admission webhook so
// that both take over the same classes.

import type { FlagSpecs, Flags } from '../../../contract/flags.ts';

export const INGRESS_NGINX_FLAGS: FlagSpecs = {
  'ingress-nginx-compat': {
    help: "also serve ingress-nginx's Ingresses: the classes below and IngressClasses of controller k8s.io/ingress-nginx",
    default: 'false',
    boolean: true,
  },
  'ingress-nginx-class-names': {
    help: 'comma-separated class names taken over in ingress-nginx mode (ingressClassName and the legacy annotation)',
    default: 'nginx',
  },
};

const CLASS_NAME = /^(?=.{1,253}$)[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const MAX_NAMES = 32;

/** The class names taken over, sorted; undefined when the mode is off. */
export function readIngressNginxClassNames(f: Flags): string[] | undefined {
  if (!f.bool('ingress-nginx-compat')) return undefined;
  const names = [...new Set(f.list('ingress-nginx-class-names'))].sort();
  const bad = names.find((n) => !CLASS_NAME.test(n));
  if (bad !== undefined) {
    f.problem(`--ingress-nginx-class-names: ${JSON.stringify(bad.slice(0, 80))} is not an IngressClass name`);
  } else if (names.length === 0 || names.length > MAX_NAMES) {
    f.problem(`--ingress-nginx-class-names: give 1 to ${MAX_NAMES} class names`);
  }
  return names;
}
