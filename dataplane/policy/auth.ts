// Authentication steps: HTTP Basic against htpasswd hashes, and external authentication by a
// subrequest to an auth service (ingress-nginx's `auth_request`). Both hold for WebSocket upgrades:
// they run before the upgrade is forwarded.
//
// bcrypt is slow by design, so a request with a wrong password costs real CPU. Two bounds keep
// that from stalling the event loop: successful checks are remembered (a bounded LRU keyed by a
// SHA-256 of user, password and stored hash, so neither is kept in the clear), and bcrypt checks
// run on bcryptjs's asynchronous API with at most BCRYPT_PER_INGRESS in progress per Ingress and
// BCRYPT_TOTAL overall; a request beyond that is answered 503 with `Retry-After: 1` instead of
// queueing. A bcrypt cost above 12 is refused by the compiler.

import { createHash, timingSafeEqual } from 'node:crypto';
import { createRequire } from 'node:module';
import bcrypt from 'bcryptjs';
import { Agent, request } from 'undici';
import type { BasicAuthPolicy, ExternalAuthPolicy } from '../../contract/types.ts';
import type { Step, StepContext, StepFactory } from './steps.ts';

const apr1 = createRequire(import.meta.url)('apache-md5') as (password: string, salt: string) => string;

export const BCRYPT_PER_INGRESS = 4;
export const BCRYPT_TOTAL = 16;
const VERIFIED_MAX = 10_000;
/** Largest Authorization header looked at (longer ones are simply not credentials). */
const MAX_AUTHORIZATION = 4096;

/** Digests of (user, password, hash) that verified, oldest first. */
const verified = new Map<string, true>();
/** bcrypt checks in progress, by Ingress (entries removed at 0). */
const inProgress = new Map<string, number>();
let totalInProgress = 0;

function remember(key: string): void {
  verified.delete(key);
  verified.set(key, true);
  if (verified.size > VERIFIED_MAX) verified.delete(verified.keys().next().value!);
}

function credentials(header: string | undefined): { user: string; password: string } | undefined {
  if (header === undefined || header.length > MAX_AUTHORIZATION) return undefined;
  const m = /^basic[ \t]+([A-Za-z0-9+/]+={0,2})[ \t]*$/i.exec(header);
  if (!m) return undefined;
  const text = Buffer.from(m[1], 'base64').toString('utf8');
  const colon = text.indexOf(':');
  if (colon <= 0) return undefined;
  return { user: text.slice(0, colon), password: text.slice(colon + 1) };
}

function sameText(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/** Verifies the fast hash kinds synchronously; undefined for bcrypt. */
function verifyFast(password: string, hash: string): boolean | undefined {
  if (hash.startsWith('{SHA}')) {
    return sameText(`{SHA}${createHash('sha1').update(password, 'utf8').digest('base64')}`, hash);
  }
  if (hash.startsWith('$apr1$')) return sameText(apr1(password, hash), hash);
  return undefined;
}

export const basicAuthStep: StepFactory = (policy, route) => {
  const auth: BasicAuthPolicy | undefined = policy.basicAuth;
  if (auth === undefined) return undefined;
  const users = new Map(auth.users.map((u) => [u.name, u.hash]));
  // The schema admits no quote, backslash or control character in the realm.
  const challenge = { 'www-authenticate': `Basic realm="${auth.realm}"` };
  const ingress = route.ingress;
  const deny = (ctx: StepContext): true => {
    ctx.reply(401, 'authentication required', challenge);
    return true;
  };
  const step: Step = (ctx) => {
    const creds = credentials(ctx.req.headers.authorization);
    if (creds === undefined) return deny(ctx);
    const hash = users.get(creds.user);
    if (hash === undefined) return deny(ctx);
    const key = createHash('sha256')
      .update(creds.user)
      .update('\0')
      .update(creds.password)
      .update('\0')
      .update(hash)
      .digest('base64');
    if (verified.has(key)) {
      remember(key);
      return false;
    }
    const fast = verifyFast(creds.password, hash);
    if (fast !== undefined) {
      if (!fast) return deny(ctx);
      remember(key);
      return false;
    }
    const here = inProgress.get(ingress) ?? 0;
    if (here >= BCRYPT_PER_INGRESS || totalInProgress >= BCRYPT_TOTAL) {
      ctx.reply(503, 'too many password checks in progress', { 'retry-after': '1' });
      return true;
    }
    inProgress.set(ingress, here + 1);
    totalInProgress++;
    const done = () => {
      totalInProgress--;
      const left = (inProgress.get(ingress) ?? 1) - 1;
      if (left > 0) inProgress.set(ingress, left);
      else inProgress.delete(ingress);
    };
    return bcrypt.compare(creds.password, hash).then(
      (ok) => {
        done();
        if (!ok) return deny(ctx);
        remember(key);
        return false;
      },
      () => {
        done();
        return deny(ctx);
      },
    );
  };
  return step;
};

// -- external authentication --

/** Connections to auth services: bounded per origin, kept alive. */
const authAgent = new Agent({ connections: 64, keepAliveTimeout: 30_000, keepAliveMaxTimeout: 60_000 });

/** Request headers never sent to the auth service (framing, hop-by-hop; undici sets Host). */
const NOT_SENT = new Set([
  'host',
  'content-length',
  'transfer-encoding',
  'connection',
  'keep-alive',
  'upgrade',
  'expect',
  'te',
  'trailer',
  'proxy-connection',
  'x-original-url',
  'x-original-method',
  'x-sent-from',
  'x-auth-request-redirect',
]);

const MAX_AUTH_BODY = 64 * 1024;

function headerValue(value: string | string[] | undefined): string | undefined {
  if (value === undefined) return undefined;
  return Array.isArray(value) ? value.join(', ') : value;
}

/** `rd=<original URL>` appended as ingress-nginx does, unless the sign-in URL already has one. */
export function signinLocation(signin: string, ctx: StepContext): string {
  if (/[?&]rd=/.test(signin)) return signin;
  const original = `${ctx.p.clientScheme}://${ctx.p.rawHost}${encodeURIComponent(ctx.p.path + ctx.p.query)}`;
  return `${signin}${signin.includes('?') ? '&' : '?'}rd=${original}`;
}

export const externalAuthStep: StepFactory = (policy) => {
  const ext: ExternalAuthPolicy | undefined = policy.externalAuth;
  if (ext === undefined) return undefined;
  const copied = ext.responseHeaders;
  return async (ctx) => {
    const requestUri = ctx.p.path + ctx.p.query;
    const headers: string[] = [];
    const src = ctx.headers;
    for (let i = 0; i < src.length; i += 2) {
      if (!NOT_SENT.has(src[i].toLowerCase())) headers.push(src[i], src[i + 1]);
    }
    headers.push(
      'x-original-url',
      `${ctx.p.clientScheme}://${ctx.p.rawHost}${requestUri}`,
      'x-original-method',
      ctx.req.method ?? 'GET',
      'x-sent-from',
      'nginx-ingress-controller',
      'x-auth-request-redirect',
      ext.requestRedirect ?? requestUri,
    );
    let status: number;
    let answer: Record<string, string | string[] | undefined>;
    try {
      const res = await request(ext.url, {
        method: ext.method as 'GET',
        headers,
        dispatcher: authAgent,
        signal: AbortSignal.timeout(ext.timeoutMs),
        headersTimeout: ext.timeoutMs,
        bodyTimeout: ext.timeoutMs,
      });
      status = res.statusCode;
      answer = res.headers;
      await res.body.dump({ limit: MAX_AUTH_BODY }).catch(() => {});
    } catch {
      // Unreachable, timed out or broken: deny, as ingress-nginx does (500).
      ctx.reply(500, 'authentication service failed');
      return true;
    }
    if (status >= 200 && status < 300) {
      if (copied.length > 0) copyHeaders(ctx.headers as string[], copied, answer);
      return false;
    }
    if (status === 401) {
      if (ext.signin !== undefined) {
        ctx.reply(302, 'sign in', { location: signinLocation(ext.signin, ctx) });
        return true;
      }
      const challenge = headerValue(answer['www-authenticate']);
      ctx.reply(401, 'authentication required', challenge ? { 'www-authenticate': challenge } : undefined);
      return true;
    }
    if (status === 403) {
      ctx.reply(403, 'forbidden');
      return true;
    }
    ctx.reply(500, 'authentication service failed');
    return true;
  };
};

/**
 * Sets each named header on the upstream request from the auth answer. A client's own value is
 * always removed first, so a client cannot pose as the auth service.
 */
function copyHeaders(
  headers: string[],
  names: readonly string[],
  answer: Record<string, string | string[] | undefined>,
): void {
  const drop = new Set(names);
  for (let i = headers.length - 2; i >= 0; i -= 2) {
    if (drop.has(headers[i].toLowerCase())) headers.splice(i, 2);
  }
  for (const name of names) {
    const value = headerValue(answer[name]);
    // An empty value is not sent, as nginx's proxy_set_header does.
    if (value !== undefined && value !== '' && !/[\r\n\0]/.test(value)) headers.push(name, value);
  }
}
