// Basic-auth Secrets: the htpasswd hashes an Ingress's `auth-secret` names, read into the route
// policy (`basicAuth`). Only hashes the data plane verifies are taken (bcrypt up to cost 12, apr1,
// {SHA}); a Secret that is missing, in another namespace, or holds anything else keeps the
// Ingress from being routed. Passwords are never in the config, only their hashes.

import type { BasicAuthPolicy, RoutePolicy } from '../../../contract/types.ts';
import { ingressRef, warning } from '../core/events.ts';
import { isRecord, quote, stringMap } from '../core/objects.ts';
import type { IngressOutput } from '../core/records.ts';
import type { ParsedIngress } from './ingress.ts';
import type { BasicAuthSettings } from './settings.ts';

const MAX_USERS = 10_000;
const MAX_SECRET_BYTES = 1024 * 1024;
const BCRYPT = /^\$2[aby]\$(\d\d)\$[./A-Za-z0-9]{53}$/;
const APR1 = /^\$apr1\$[./0-9A-Za-z]{0,8}\$[./0-9A-Za-z]{22}$/;
const SHA = /^\{SHA\}[A-Za-z0-9+/]{27}=$/;
const MAX_BCRYPT_COST = 12;

export type AuthSecretResult =
  | { ok: true; basicAuth: BasicAuthPolicy }
  | { ok: false; reason: 'SecretNotFound' | 'SecretInvalid'; message: string };

/** `<namespace>/<name>` of the Secret, or undefined when it lies in another namespace (refused). */
export function authSecretKey(ingressNamespace: string, settings: BasicAuthSettings): string | undefined {
  const ns = settings.secret.namespace ?? ingressNamespace;
  return ns === ingressNamespace ? `${ns}/${settings.secret.name}` : undefined;
}

/** Why a hash cannot be served, or undefined when it can. */
function hashProblem(hash: string): string | undefined {
  const bcrypt = BCRYPT.exec(hash);
  if (bcrypt) {
    const cost = Number(bcrypt[1]);
    return cost < 4 || cost > MAX_BCRYPT_COST
      ? `a bcrypt cost of ${cost} (4 to ${MAX_BCRYPT_COST} are served: a higher cost lets wrong passwords stall the proxy)`
      : undefined;
  }
  if (APR1.test(hash) || SHA.test(hash)) return undefined;
  if (hash.startsWith('$')) return 'a hash kind that is not served (bcrypt $2y$, $apr1$ and {SHA} are)';
  return 'a crypt(3) or plain-text password, which is not served (re-create it with htpasswd -B)';
}

/** 1 to 256 characters, no colon, no control character (C0 or DEL). */
function isUserName(user: string): boolean {
  if (user.length === 0 || user.length > 256) return false;
  for (let i = 0; i < user.length; i++) {
    const code = user.charCodeAt(i);
    if (code < 0x20 || code === 0x7f || code === 0x3a) return false;
  }
  return true;
}

function decode(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  const compact = value.replace(/[\r\n]/g, '');
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(compact) || compact.length > (MAX_SECRET_BYTES * 4) / 3 + 4)
    return undefined;
  return Buffer.from(compact, 'base64').toString('utf8');
}

export function basicAuthFromSecret(
  secret: unknown,
  key: string,
  settings: BasicAuthSettings,
): AuthSecretResult {
  const invalid = (why: string): AuthSecretResult => ({
    ok: false,
    reason: 'SecretInvalid',
    message: `basic-auth Secret ${key} ${why}`,
  });
  if (!isRecord(secret)) return invalid('is not an object');
  const data = stringMap(secret.data);
  const entries: Array<[string, string]> = [];
  if (settings.secretType === 'auth-file') {
    const file = decode(data.auth);
    if (file === undefined) return invalid('needs a base64 key "auth" holding htpasswd lines');
    for (const raw of file.split('\n')) {
      const line = raw.replace(/\r$/, '').trim();
      if (line === '' || line.startsWith('#')) continue;
      const colon = line.indexOf(':');
      if (colon <= 0) return invalid('has an "auth" line that is not <user>:<hash>');
      // htpasswd lines may carry a comment field after the hash.
      const hash = line.slice(colon + 1).split(':')[0];
      entries.push([line.slice(0, colon), hash]);
    }
  } else {
    for (const [user, value] of Object.entries(data)) {
      const hash = decode(value);
      if (hash === undefined) return invalid(`has a key ${quote(user)} that is not base64`);
      entries.push([user, hash.trim()]);
    }
  }
  if (entries.length === 0) return invalid('lists no users');
  if (entries.length > MAX_USERS) return invalid(`lists more than ${MAX_USERS} users`);
  const users = new Map<string, string>();
  for (const [user, hash] of entries) {
    if (!isUserName(user))
      return invalid(`has a user name ${quote(user)} that is empty, too long or holds control characters`);
    const why = hashProblem(hash);
    if (why !== undefined) return invalid(`has, for user ${quote(user)}, ${why}`);
    // As nginx reads the file: the first line for a user wins.
    if (!users.has(user)) users.set(user, hash);
  }
  const list = [...users.entries()]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([name, hash]) => ({ hash, name }));
  return { ok: true, basicAuth: { realm: settings.realm, users: list } };
}

/** The policy with `basicAuth` set, keys in sorted order (see emit.ts). */
export function withBasicAuth(policy: RoutePolicy, basicAuth: BasicAuthPolicy): RoutePolicy {
  const merged: Record<string, unknown> = { ...policy, basicAuth };
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(merged).sort()) out[k] = merged[k];
  return out as unknown as RoutePolicy;
}

/** Reads the Ingress's basic-auth Secret through `lookup` (the Secret object, or undefined). */
export function resolveBasicAuth(
  ingress: ParsedIngress,
  lookup: (key: string) => unknown,
): AuthSecretResult | undefined {
  const settings = ingress.settings.basicAuth;
  if (settings === undefined) return undefined;
  const key = authSecretKey(ingress.meta.namespace, settings);
  if (key === undefined) {
    return {
      ok: false,
      reason: 'SecretInvalid',
      message: `basic-auth Secret ${settings.secret.namespace}/${settings.secret.name} is in another namespace, which is not allowed`,
    };
  }
  const secret = lookup(key);
  if (secret === undefined)
    return { ok: false, reason: 'SecretNotFound', message: `basic-auth Secret ${key} not found` };
  return basicAuthFromSecret(secret, key, settings);
}

/**
 * The output of an Ingress whose basic-auth Secret cannot be used: no path routed (each rejected
 * with the reason), a Warning Event, and a policy that refuses everyone for its default backend.
 */
export function authFailureOutput(
  ingress: ParsedIngress,
  failure: Extract<AuthSecretResult, { ok: false }>,
): IngressOutput {
  const rejected = ingress.rejected.concat(
    ingress.paths.map((path) => ({
      host: path.host.host,
      path: path.path,
      pathType: path.pathType,
      reason: failure.reason,
      message: failure.message,
    })),
  );
  const events = [
    warning(
      failure.reason,
      `${failure.message}; the Ingress is not routed until this is fixed`,
      ingressRef(ingress.meta),
    ),
  ];
  const realm = ingress.settings.basicAuth?.realm ?? '';
  return {
    status: { routes: 0, rejected },
    events,
    splits: [],
    backends: [],
    routeRatios: [],
    policy: withBasicAuth(ingress.settings.policy, { realm, users: [] }),
  };
}
