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
