// A small JSON REST client over the kubeconfig's credentials. Objects stay exactly as the API
// server sends them (no class conversion, timestamps stay strings), the same form an
// AdmissionReview carries, so cached and reviewed objects compare field for field.
import { HttpMethod, type KubeConfig, RequestContext } from '@kubernetes/client-node';
import { fetch } from 'undici';

export interface KubeResponse<T> {
  status: number;
  body: T;
}

export class KubeApiError extends Error {
  readonly status: number;
  constructor(method: string, path: string, status: number, message: string) {
    super(`${method} ${path}: ${status} ${message}`);
    this.status = status;
  }
}

export interface KubeClient {
  /** Resolves for any status; callers decide what 404 or 409 mean. */
  request<T>(method: string, path: string, body?: unknown, contentType?: string): Promise<KubeResponse<T>>;
  /** Like `request` but throws KubeApiError on a non-2xx status. */
  ok<T>(method: string, path: string, body?: unknown, contentType?: string): Promise<T>;
}

const METHODS: Record<string, HttpMethod> = {
  GET: HttpMethod.GET,
  POST: HttpMethod.POST,
  PUT: HttpMethod.PUT,
  PATCH: HttpMethod.PATCH,
  DELETE: HttpMethod.DELETE,
};

export function kubeClient(kc: KubeConfig, timeoutMs = 10_000): KubeClient {
  const server = kc.getCurrentCluster()?.server;
  if (!server) throw new Error('kubeconfig has no current cluster');
  const base = server.replace(/\/+$/, '');

  async function request<T>(method: string, path: string, body?: unknown, contentType = 'application/json') {
    const ctx = new RequestContext(base + path, METHODS[method] ?? HttpMethod.GET);
    await kc.applySecurityAuthentication(ctx);
    const headers: Record<string, string> = { ...ctx.getHeaders(), accept: 'application/json' };
    if (body !== undefined) headers['content-type'] = contentType;
    const res = await fetch(ctx.getUrl(), {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      dispatcher: ctx.getDispatcher(),
      signal: AbortSignal.timeout(timeoutMs),
    });
    const text = await res.text();
    let parsed: unknown = text;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      // Not JSON (a proxy error page, say): keep the text for the error message.
    }
    return { status: res.status, body: parsed as T };
  }

  return {
    request,
    async ok<T>(method: string, path: string, body?: unknown, contentType?: string): Promise<T> {
      const res = await request<T>(method, path, body, contentType);
      if (res.status < 200 || res.status > 299) {
        const b = res.body as { message?: unknown } | string | undefined;
        const message = typeof b === 'object' && typeof b?.message === 'string' ? b.message : String(b ?? '');
        throw new KubeApiError(method, path, res.status, message.slice(0, 500));
      }
      return res.body;
    },
  };
}
