// CORS as ingress-nginx's `enable-cors`: a request whose Origin is allowed (any request when the
// allowed origin is `*`) gets the Access-Control-* headers on the upstream's answer; a preflight
// (OPTIONS with Origin and Access-Control-Request-Method) from an allowed origin is answered 204
// here. An origin that is not allowed gets no CORS headers at all, and its preflight goes on.

import type { OutgoingHttpHeaders } from 'node:http';
import type { CorsPolicy } from '../../contract/types.ts';
import type { StepFactory } from './steps.ts';

type OriginTest = (origin: string) => boolean;

/** One allowed origin, compared case-insensitively and whole; `*.` stands for exactly one label. */
function originTest(allowed: string): OriginTest {
  const lower = allowed.toLowerCase();
  const star = lower.indexOf('://*.');
  if (star === -1) return (origin) => origin.toLowerCase() === lower;
  const head = lower.slice(0, star + 3);
  const tail = lower.slice(star + 4);
  return (origin) => {
    const o = origin.toLowerCase();
    if (o.length <= head.length + tail.length || !o.startsWith(head) || !o.endsWith(tail)) return false;
    return /^[a-z0-9-]+$/.test(o.slice(head.length, o.length - tail.length));
  };
}

/** The headers for one answer: the fixed ones, and Allow-Origin (echoed, or `*`). */
function corsHeaders(cors: CorsPolicy): Array<[string, string]> {
  const fixed: Array<[string, string]> = [];
  if (cors.allowCredentials) fixed.push(['access-control-allow-credentials', 'true']);
  fixed.push(['access-control-allow-methods', cors.allowMethods]);
  fixed.push(['access-control-allow-headers', cors.allowHeaders]);
  if (cors.exposeHeaders !== undefined) fixed.push(['access-control-expose-headers', cors.exposeHeaders]);
  fixed.push(['access-control-max-age', String(cors.maxAgeSeconds)]);
  return fixed;
}

export const corsStep: StepFactory = (policy) => {
  const cors = policy.cors;
  if (cors === undefined) return undefined;
  const any = cors.allowOrigins.includes('*');
  const tests = any ? [] : cors.allowOrigins.map(originTest);
  const fixed = corsHeaders(cors);
  return (ctx) => {
    const header = ctx.req.headers.origin;
    const origin = typeof header === 'string' ? header : undefined;
    if (!any && (origin === undefined || !tests.some((test) => test(origin)))) return false;
    const allowOrigin = any ? '*' : origin!;
    const preflight =
      ctx.req.method === 'OPTIONS' &&
      origin !== undefined &&
      ctx.req.headers['access-control-request-method'] !== undefined;
    if (preflight) {
      const headers: OutgoingHttpHeaders = {
        'content-type': 'text/plain charset=UTF-8',
        'content-length': 0,
        'access-control-allow-origin': allowOrigin,
      };
      // An echoed origin makes the answer depend on the request's Origin. (On upstream answers a
      // Vary would replace the upstream's own, so there it is left to the upstream.)
      if (!any) headers.vary = 'Origin';
      for (const [name, value] of fixed) headers[name] = value;
      ctx.reply(204, '', headers);
      return true;
    }
    ctx.addResponseHeader('access-control-allow-origin', allowOrigin);
    for (const [name, value] of fixed) ctx.addResponseHeader(name, value);
    return false;
  };
};
