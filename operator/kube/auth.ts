// How the operator authenticates to the API server. The common cases are read directly: the
// in-cluster service account (token re-read as it rotates) and kubeconfig files with client
// certificates, bearer tokens or basic auth. Loading @kubernetes/client-node costs some 80 MiB of
// resident memory, so it is only imported for what it alone handles (exec and auth-provider
// plugins) or when a caller already holds one of its KubeConfig objects (tests).

import { readFileSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, isAbsolute, join } from 'node:path';
import type { KubeConfig } from '@kubernetes/client-node';
import { Agent, type Dispatcher } from 'undici';
import { parse } from 'yaml';

export interface ApiAuth {
  /** Base URL of the API server, without a trailing slash. */
  server: string;
  dispatcher(): Promise<Dispatcher>;
  /** Headers for one request (a rotating token is re-read here). */
  headers(): Promise<Record<string, string>>;
  close(): Promise<void>;
}

const SA_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';

export interface LoadOptions {
  /** Explicit kubeconfig path; otherwise in-cluster, then $KUBECONFIG, then ~/.kube/config. */
  kubeconfig?: string;
  env?: NodeJS.ProcessEnv;
}

export function loadAuth(opts: LoadOptions = {}): ApiAuth {
  const env = opts.env ?? process.env;
  if (!opts.kubeconfig && env.KUBERNETES_SERVICE_HOST && env.KUBERNETES_SERVICE_PORT) {
    return inClusterAuth(env.KUBERNETES_SERVICE_HOST, env.KUBERNETES_SERVICE_PORT);
  }
  const path =
    opts.kubeconfig || env.KUBECONFIG?.split(':').find((p) => p !== '') || join(homedir(), '.kube', 'config');
  return kubeconfigAuth(path);
}

function inClusterAuth(host: string, port: string): ApiAuth {
  const h = host.includes(':') ? `[${host}]` : host;
  const token = new RotatingFile(join(SA_DIR, 'token'));
  return tlsAuth(`https://${h}:${port}`, { ca: readFileSync(join(SA_DIR, 'ca.crt')) }, async () => ({
    authorization: `Bearer ${token.read()}`,
  }));
}

interface NamedList<T> {
  name?: string;
  [key: string]: T | string | undefined;
}

interface KubeconfigFile {
  'current-context'?: string;
  contexts?: Array<NamedList<{ cluster?: string; user?: string }>>;
  clusters?: Array<NamedList<Record<string, unknown>>>;
  users?: Array<NamedList<Record<string, unknown>>>;
}

/** Reads a kubeconfig file's current context. */
export function kubeconfigAuth(path: string): ApiAuth {
  const doc = parse(readFileSync(path, 'utf8')) as KubeconfigFile | null;
  if (!doc || typeof doc !== 'object') throw new Error(`kubeconfig ${path}: not a kubeconfig`);
  const find = (
    list: Array<NamedList<Record<string, unknown>>> | undefined,
    name: string | undefined,
    key: string,
  ) => {
    const entry = list?.find((e) => e.name === name)?.[key];
    if (!entry || typeof entry !== 'object')
      throw new Error(`kubeconfig ${path}: no ${key} ${JSON.stringify(name)}`);
    return entry as Record<string, unknown>;
  };
  const contextName = doc['current-context'];
  const context = find(doc.contexts, contextName, 'context') as { cluster?: string; user?: string };
  const cluster = find(doc.clusters, context.cluster, 'cluster');
  const user = context.user ? find(doc.users, context.user, 'user') : {};
  const base = dirname(path);
  const str = (o: Record<string, unknown>, k: string) =>
    typeof o[k] === 'string' ? (o[k] as string) : undefined;
  const file = (f: string | undefined) => (f ? readFileSync(isAbsolute(f) ? f : join(base, f)) : undefined);
  const data = (d: string | undefined) => (d ? Buffer.from(d, 'base64') : undefined);

  if (user.exec || user['auth-provider']) return clientNodeAuth(path);

  const server = str(cluster, 'server');
  if (!server)
    throw new Error(`kubeconfig ${path}: cluster ${JSON.stringify(context.cluster)} has no server`);
  const tls = {
    ca: data(str(cluster, 'certificate-authority-data')) ?? file(str(cluster, 'certificate-authority')),
    cert: data(str(user, 'client-certificate-data')) ?? file(str(user, 'client-certificate')),
    key: data(str(user, 'client-key-data')) ?? file(str(user, 'client-key')),
    rejectUnauthorized: cluster['insecure-skip-tls-verify'] !== true,
    servername: str(cluster, 'tls-server-name'),
  };
  const token = str(user, 'token');
  const tokenFile = str(user, 'tokenFile');
  const rotating = tokenFile
    ? new RotatingFile(isAbsolute(tokenFile) ? tokenFile : join(base, tokenFile))
    : undefined;
  const username = str(user, 'username');
  const password = str(user, 'password');
  return tlsAuth(server, tls, async (): Promise<Record<string, string>> => {
    if (token) return { authorization: `Bearer ${token}` };
    if (rotating) return { authorization: `Bearer ${rotating.read()}` };
    if (username !== undefined && password !== undefined) {
      return { authorization: `Basic ${Buffer.from(`${username}:${password}`).toString('base64')}` };
    }
    return {};
  });
}

function tlsAuth(
  server: string,
  tls: { ca?: Buffer; cert?: Buffer; key?: Buffer; rejectUnauthorized?: boolean; servername?: string },
  headers: () => Promise<Record<string, string>>,
): ApiAuth {
  const agent = new Agent({ connect: { ...tls }, keepAliveTimeout: 30_000 });
  return {
    server: server.replace(/\/+$/, ''),
    dispatcher: async () => agent,
    headers,
    close: () => agent.destroy().catch(() => undefined),
  };
}

/**
 * Credentials from a client-node KubeConfig. The library (and its memory) is loaded only on first
 * use; it covers exec and auth-provider plugins.
 */
export function kubeConfigObjectAuth(kc: KubeConfig): ApiAuth {
  const cluster = kc.getCurrentCluster();
  if (!cluster) throw new Error('kubeconfig has no current cluster');
  let dispatcher: Dispatcher | undefined;
  const apply = async (): Promise<Record<string, string>> => {
    const { RequestContext, HttpMethod } = await import('@kubernetes/client-node');
    const ctx = new RequestContext(cluster.server, HttpMethod.GET);
    await kc.applySecurityAuthentication(ctx);
    dispatcher ??= ctx.getDispatcher() ?? new Agent();
    return ctx.getHeaders();
  };
  return {
    server: cluster.server.replace(/\/+$/, ''),
    async dispatcher() {
      if (!dispatcher) await apply();
      return dispatcher as Dispatcher;
    },
    headers: apply,
    async close() {
      await dispatcher?.destroy().catch(() => undefined);
    },
  };
}

function clientNodeAuth(path: string): ApiAuth {
  let inner: Promise<ApiAuth> | undefined;
  const load = () => {
    inner ??= import('@kubernetes/client-node').then(({ KubeConfig: Kc }) => {
      const kc = new Kc();
      kc.loadFromFile(path);
      return kubeConfigObjectAuth(kc);
    });
    return inner;
  };
  const doc = parse(readFileSync(path, 'utf8')) as KubeconfigFile;
  const ctx = doc.contexts?.find((c) => c.name === doc['current-context'])?.context as { cluster?: string };
  const cluster = doc.clusters?.find((c) => c.name === ctx?.cluster)?.cluster as
    | { server?: string }
    | undefined;
  if (!cluster?.server) throw new Error(`kubeconfig ${path}: current cluster has no server`);
  return {
    server: cluster.server.replace(/\/+$/, ''),
    dispatcher: async () => (await load()).dispatcher(),
    headers: async () => (await load()).headers(),
    close: async () => (inner ? (await inner).close() : undefined),
  };
}

/** A small file re-read when it changes (rotated tokens), checked at most once a second. */
class RotatingFile {
  readonly #path: string;
  #value = '';
  #mtimeMs = -1;
  #checked = 0;
  constructor(path: string) {
    this.#path = path;
  }
  read(): string {
    const now = Date.now();
    if (now - this.#checked >= 1000 || this.#value === '') {
      this.#checked = now;
      const mtime = statSync(this.#path).mtimeMs;
      if (mtime !== this.#mtimeMs) {
        this.#value = readFileSync(this.#path, 'utf8').trim();
        this.#mtimeMs = mtime;
      }
    }
    return this.#value;
  }
}
