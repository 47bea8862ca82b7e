// `upstreamHost`: the Host header sent upstream is replaced (ingress-nginx's `upstream-vhost`,
// its `proxy_set_header Host`). Routing already happened on the client's Host; X-Forwarded-Host
// keeps what the client sent.

import type { StepFactory } from './steps.ts';

export const upstreamHostStep: StepFactory = (policy) => {
  const host = policy.upstreamHost;
  if (host === undefined) return undefined;
  return (ctx) => {
    const headers = ctx.headers;
    for (let i = 0; i < headers.length; i += 2) {
      if (headers[i] === 'host') {
        headers[i + 1] = host;
        return false;
      }
    }
    headers.push('host', host);
    return false;
  };
};
