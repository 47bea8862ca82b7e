// What an Ingress's annotations set, for every route of the Ingress: the route policy the data
// plane applies and what the compiler itself acts on. Parsed by annotations.ts (`sluice.dev/*`)
// and nginx/ (`nginx.ingress.kubernetes.io/*`).

import type { RoutePolicy } from '../../../contract/types.ts';

export interface IngressSettings {
  policy: RoutePolicy;
  /** Redirect HTTP to HTTPS on TLS hosts. */
  sslRedirect: boolean;
  // -- canary --
  // -- paths --
  // -- redirects --
}

/** The settings being built: the policy is a fresh copy each annotation group may add its fields to. */
export interface SettingsBuilder extends IngressSettings {
  policy: RoutePolicy;
}
