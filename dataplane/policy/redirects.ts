// `permanent-redirect` / `temporal-redirect`: every request on the route, WebSocket upgrades
// included, is answered with the configured redirect. The URL was checked by the compiler and the
// schema (absolute http(s), visible ASCII) and is sent exactly as written.

import type { StepFactory } from './steps.ts';

export const redirectStep: StepFactory = (policy) => {
  const redirect = policy.redirect;
  if (redirect === undefined) return undefined;
  const headers = { location: redirect.url };
  return (ctx) => {
    ctx.reply(redirect.code, `redirecting to ${redirect.url}`, headers);
    return true;
  };
};

// `from-to-www-redirect`: the request's path and query on the other name, in the client's scheme
// (after trusted proxies). As ingress-nginx does, one trailing `/` of the path-and-query is
// dropped, so `/` becomes the bare origin. No port is added: the scheme's default is meant.
export const wwwRedirectStep: StepFactory = (policy) => {
  const redirect = policy.wwwRedirect;
  if (redirect === undefined) return undefined;
  return (ctx) => {
    let uri = ctx.p.path + ctx.p.query;
    if (uri.endsWith('/')) uri = uri.slice(0, -1);
    const location = `${ctx.p.clientScheme}://${redirect.host}${uri}`;
    ctx.reply(redirect.code, `redirecting to ${location}`, { location });
    return true;
  };
};
