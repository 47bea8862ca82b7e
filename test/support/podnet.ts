// Test traffic goes only to loopback and to the simulated pod network (198.18.0.0/15 on the node
// agent's bridge). Before anything is sent to a pod address, the kernel's route to it is checked:
// if it does not leave through our bridge, the test refuses instead of reaching a real network.
import { execFile } from 'node:child_process';
import { request } from 'node:http';
import { isIPv4 } from 'node:net';
import { promisify } from 'node:util';

const run = promisify(execFile);

export const bridge = 'sluice0';

function inPodRange(addr: string): boolean {
  if (!isIPv4(addr)) return false;
  const [a, b] = addr.split('.').map(Number);
  return a === 198 && (b === 18 || b === 19);
}

function isLoopback(addr: string): boolean {
  return addr === '::1' || addr === 'localhost' || (isIPv4(addr) && addr.startsWith('127.'));
}

/**
 * Throws unless traffic to addr stays on this machine: loopback, or a 198.18.0.0/15 address that
 * the kernel routes via the sluice0 bridge.
 */
export async function assertOwnRoute(addr: string): Promise<void> {
  const host = addr.replace(/^\[|\]$/g, '');
  if (isLoopback(host)) return;
  if (!inPodRange(host)) {
    throw new Error(`refusing to send traffic to ${host}: only loopback and 198.18.0.0/15 are allowed`);
  }
  let out: string;
  try {
    ({ stdout: out } = await run('ip', ['route', 'get', host]));
  } catch (err) {
    throw new Error(`refusing to send traffic to ${host}: ip route get failed: ${(err as Error).message}`);
  }
  const dev = /\bdev (\S+)/.exec(out)?.[1];
  if (dev !== bridge) {
    throw new Error(`refusing to send traffic to ${host}: it routes via ${dev ?? 'nothing'}, not ${bridge}`);
  }
}

export interface HttpResult {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** A plain HTTP request to a loopback or pod address, after the route check. */
export async function httpGet(
  url: string,
  opts: { method?: string; headers?: Record<string, string>; timeoutMs?: number; body?: string } = {},
): Promise<HttpResult> {
  const u = new URL(url);
  if (u.protocol !== 'http:') throw new Error(`httpGet only speaks http:, got ${u.protocol}`);
  await assertOwnRoute(u.hostname);
  const timeoutMs = opts.timeoutMs ?? 5000;
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      { method: opts.method ?? 'GET', headers: opts.headers, timeout: timeoutMs, agent: false },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => {
          body += c;
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error(`${url}: no answer within ${timeoutMs} ms`)));
    req.on('error', reject);
    req.end(opts.body);
  });
}
