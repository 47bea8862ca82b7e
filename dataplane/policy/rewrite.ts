// ingress-nginx's path annotations on a route: `app-root` (302 from `/`), `rewrite-target` (the
// path sent upstream, built from the groups of the route's regex path) and `x-forwarded-prefix`
// (a request header for the upstream). Nothing here is interpreted beyond `$1`..`$9`: the compiler
// refuses any other `$` in a target.

import type { RE2JS } from 're2js';
import { compileRewriteRegex } from '../../contract/regex.ts';
import type { RoutePolicy } from '../../contract/types.ts';
import type { Step, StepContext, StepRoute } from './steps.ts';

/** `if ($uri = /) { return 302 $scheme://$http_host<app-root>; }`, for requests to exactly `/`. */
export function appRootStep(policy: RoutePolicy): Step | undefined {
  const appRoot = policy.appRoot;
  if (appRoot === undefined) return undefined;
  return (ctx) => {
    if (ctx.p.path !== '/') return false;
    // `return` drops the query, as nginx does.
    ctx.reply(302, 'redirecting to the application root', {
      location: `${ctx.p.clientScheme}://${ctx.p.rawHost}${appRoot}`,
    });
    return true;
  };
}

type Piece = string | number;

/** The target split into literal text and group numbers. */
function parseTarget(target: string): Piece[] {
  const pieces: Piece[] = [];
  let literal = '';
  for (let i = 0; i < target.length; i++) {
    const c = target[i];
    const next = target.charCodeAt(i + 1);
    if (c === '$' && next >= 0x31 && next <= 0x39) {
      if (literal !== '') pieces.push(literal);
      literal = '';
      pieces.push(next - 0x30);
      i++;
    } else literal += c;
  }
  if (literal !== '') pieces.push(literal);
  return pieces;
}

/**
 * `rewrite "(?i)<path>" <target> break;`: when the route's pattern matches the request path
 * (anywhere, case-insensitively), the upstream gets the target with the groups put in. The
 * request's query follows (after `&` when the target has its own), unless the target ends in `?`.
 */
export function rewriteStep(policy: RoutePolicy, route: StepRoute): Step | undefined {
  const target = policy.rewriteTarget;
  // ingress-nginx leaves a location whose path is the target as it is.
  if (target === undefined || target === route.path) return undefined;
  // On a route that is not a regex, the path is matched literally (it has no groups).
  const re: RE2JS | undefined =
    route.pathType === 'Regex'
      ? compileRewriteRegex(route.path)
      : compileRewriteRegex(literalPattern(route.path));
  if (re === undefined) return undefined;
  const dropQuery = target.endsWith('?');
  const pieces = parseTarget(dropQuery ? target.slice(0, -1) : target);
  const hasArgs = target.indexOf('?') !== -1 && target.indexOf('?') < target.length - 1;
  return (ctx: StepContext) => {
    const m = re.matcher(ctx.p.path);
    if (!m.find()) return false;
    let out = '';
    for (const piece of pieces) {
      if (typeof piece === 'string') out += piece;
      else if (piece <= m.groupCount()) out += m.group(piece) ?? '';
    }
    if (!dropQuery && ctx.p.query !== '') out += hasArgs ? `&${ctx.p.query.slice(1)}` : ctx.p.query;
    ctx.upstreamTarget = out;
    return false;
  };
}

function literalPattern(path: string): string {
  return path.replace(/[\\^$.|?*+()[\]{}]/g, '\\$&');
}

/** `proxy_set_header X-Forwarded-Prefix "<value>"`: replaces what the client sent. */
export function forwardedPrefixStep(policy: RoutePolicy): Step | undefined {
  const value = policy.xForwardedPrefix;
  if (value === undefined) return undefined;
  return (ctx) => {
    const h = ctx.headers;
    for (let i = h.length - 2; i >= 0; i -= 2) {
      if (h[i].length === 18 && h[i].toLowerCase() === 'x-forwarded-prefix') h.splice(i, 2);
    }
    h.push('x-forwarded-prefix', value);
    return false;
  };
}
