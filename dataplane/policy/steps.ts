// The optional steps of the request path: what a route's policy asks for beyond routing and
// forwarding (redirects, CORS, limits, access lists, authentication, rewrites). Each feature is a
// factory that turns a policy into a step, or into nothing when the policy does not ask for it, so
// a route without features runs no step at all. Steps run in ingress-nginx's phase order
// (rewrite, preaccess, access), for plain requests and WebSocket upgrades alike.

import type { OutgoingHttpHeaders } from 'node:http';
import type { RoutePolicy } from '../../contract/types.ts';
import type { EdgeRequest, Scheme } from '../proxy/types.ts';

/** What the edge decided about the request before any step (a part of proxy/prepare.ts's Prepared). */
export interface RequestFacts {
  /** Host as the client sent it, and normalised. */
  rawHost: string;
  host: string;
  path: string;
  /** `?...` or ''. */
  query: string;
  /** The original client address, through trusted proxies. */
  client: string;
  clientScheme: Scheme;
}

export interface StepContext {
  readonly req: EdgeRequest;
  readonly p: RequestFacts;
  /** True for a WebSocket upgrade: answers go to the socket, there is no response object. */
  readonly upgrade: boolean;
  /** Answers locally; the step that calls it returns true. */
  reply(status: number, message?: string, headers?: OutgoingHttpHeaders): void;
  /** Adds a header to the upstream's answer (not to local answers). */
  addResponseHeader(name: string, value: string): void;
  /** Path and query sent upstream; starts as the request's. */
  upstreamTarget: string;
  /** Request headers for the upstream, `[name, value, ...]`, forwarding headers included. */
  readonly headers: string[];
  /** Calls `fn` once when the exchange is over: the answer done or abandoned, a tunnel closed. */
  whenDone(fn: () => void): void;
}

/** True when the step answered (the request goes no further); a promise for asynchronous steps. */
export type StepResult = boolean | Promise<boolean>;
export type Step = (ctx: StepContext) => StepResult;
/** Turns a policy into its step, or undefined when the policy does not use the feature. */
export type StepFactory = (policy: RoutePolicy, route: StepRoute) => Step | undefined;

/** What a factory knows of the route besides its policy (for per-route state and logs). */
export interface StepRoute {
  /** `<namespace>/<name>` of the Ingress the route comes from. */
  ingress: string;
  host: string | undefined;
  path: string;
  /** `Regex`: `path` is the route's pattern (its groups are the rewrite target's `$1`..). */
  pathType?: 'Exact' | 'Prefix' | 'Regex' | 'Default';
}

/**
 * Runs `steps` from `from` on: synchronously while they are synchronous, and on from the first
 * promise. Resolves (or returns) true when a step answered.
 */
export function runSteps(steps: readonly Step[], ctx: StepContext, from = 0): StepResult {
  for (let i = from; i < steps.length; i++) {
    const result = steps[i](ctx);
    if (result === true) return true;
    if (result !== false) return result.then((answered) => answered || runSteps(steps, ctx, i + 1));
  }
  return false;
}
