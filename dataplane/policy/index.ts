// The feature steps in the order they run (see steps.ts). A route's steps are built once per
// routing-table entry, so the request path only loops over what its policy asked for.

import type { RoutePolicy } from '../../contract/types.ts';
import { accessStep } from './access.ts';
import { basicAuthStep, externalAuthStep } from './auth.ts';
import { corsStep } from './cors.ts';
import { limitsStep } from './limits.ts';
import { redirectStep, wwwRedirectStep } from './redirects.ts';
import { appRootStep, forwardedPrefixStep, rewriteStep } from './rewrite.ts';
import type { Step, StepFactory, StepRoute } from './steps.ts';
import { upstreamHostStep } from './upstream-host.ts';

export type { Step, StepContext, StepResult } from './steps.ts';
export { runSteps } from './steps.ts';

// ingress-nginx's phases: rewrite (redirects, CORS preflight), preaccess (limits), access (source
// ranges, authentication), then the rewrite of what goes upstream.
const FACTORIES: StepFactory[] = [
  // A from-to-www redirect is a server of its own in ingress-nginx: nothing else runs before it.
  wwwRedirectStep,
  // nginx's template answers a CORS preflight before a location's redirect, in the same phase.
  corsStep,
  redirectStep,
  limitsStep,
  accessStep,
  basicAuthStep,
  externalAuthStep,
  appRootStep,
  rewriteStep,
  forwardedPrefixStep,
  upstreamHostStep,
];

const NONE: readonly Step[] = Object.freeze([]);

export function compileSteps(policy: RoutePolicy, route: StepRoute): readonly Step[] {
  const steps: Step[] = [];
  for (const factory of FACTORIES) {
    const step = factory(policy, route);
    if (step !== undefined) steps.push(step);
  }
  return steps.length > 0 ? steps : NONE;
}
