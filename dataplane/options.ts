// Command-line flags (`--kebab-case=value`) with `SLUICE_UPPER_SNAKE` environment fallbacks for
// the data plane. Every value is checked here; a bad one stops the process at start with all
// problems listed. Documented in docs/dataplane.md.

import { isIP } from 'node:net';
import { parseArgs } from 'node:util';

export interface DataplaneOptions {
  address: string;
  httpPort: number;
  httpsPort: number;
  configAddress: string;
  configPort: number;
  opsAddress: string;
  opsPort: number;
  configTokenFile: string;
  configTlsCertFile?: string;
  configTlsKeyFile?: string;
  configMaxBytes: number;
  stateFile?: string;
  defaultCertFile?: string;
  defaultKeyFile?: string;
  trustedProxies: string[];
  accessLog: boolean;
  logLevel: string;
  httpsRedirectPort: number;
  maxHeaderBytes: number;
  headerTimeoutMs: number;
  requestTimeoutMs: number;
  keepAliveTimeoutMs: number;
  upstreamKeepAliveTimeoutMs: number;
  upstreamMaxConnections: number;
  ejectBaseMs: number;
  ejectMaxMs: number;
  retryAfterSeconds: number;
  drainDelayMs: number;
  drainTimeoutMs: number;
}

interface FlagSpec {
  default?: string;
  help: string;
}

export const FLAGS: Record<string, FlagSpec> = {
  address: { default: '0.0.0.0', help: 'address the HTTP and HTTPS traffic listeners bind' },
  'http-port': { default: '8080', help: 'HTTP traffic port' },
  'https-port': { default: '8443', help: 'HTTPS traffic port (HTTP/2 and HTTP/1.1 by ALPN)' },
  'config-address': { default: '0.0.0.0', help: 'address of the config API' },
  'config-port': { default: '9000', help: 'config API port (PUT/GET /v1/config)' },
  'ops-address': { default: '0.0.0.0', help: 'address of the ops server' },
  'ops-port': { default: '9100', help: 'ops port (/healthz, /readyz, /metrics, /debug/explain)' },
  'config-token-file': { help: 'file holding the config API bearer token (required)' },
  'config-tls-cert-file': { help: 'PEM certificate: serve the config API over HTTPS' },
  'config-tls-key-file': { help: 'PEM private key for --config-tls-cert-file' },
  'config-max-bytes': { default: '67108864', help: 'largest config accepted by PUT /v1/config' },
  'state-file': { help: 'where the last applied config is saved and loaded from at start' },
  'default-cert-file': { help: 'PEM certificate served when no SNI name matches (default: self-signed)' },
  'default-key-file': { help: 'PEM private key for --default-cert-file' },
  'trusted-proxies': {
    default: '',
    help: 'comma-separated CIDRs whose X-Forwarded-* and X-Request-Id are kept',
  },
  'access-log': { default: 'true', help: 'JSON access log lines on stdout (true or false)' },
  'log-level': { default: 'info', help: 'fatal, error, warn, info, debug or trace' },
  'https-redirect-port': { default: '443', help: 'port in HTTP-to-HTTPS redirects (omitted when 443)' },
  'max-header-bytes': { default: '16384', help: 'largest request head (431 above it)' },
  'header-timeout': { default: '60s', help: 'time to receive the request head (408)' },
  'request-timeout': { default: '300s', help: 'time to receive the whole request (408); 0 disables' },
  'keepalive-timeout': { default: '75s', help: 'idle time before a client connection is closed' },
  'upstream-keepalive-timeout': { default: '60s', help: 'idle time of pooled upstream connections' },
  'upstream-max-connections': { default: '256', help: 'connections per upstream endpoint' },
  'eject-base': { default: '1s', help: 'first ejection of an endpoint after a connection failure' },
  'eject-max': { default: '30s', help: 'longest ejection (doubles per consecutive failure)' },
  'retry-after': { default: '5', help: 'Retry-After seconds on 503 answers' },
  'drain-delay': { default: '0s', help: 'on SIGTERM: time to stay open while reporting not ready' },
  'drain-timeout': { default: '25s', help: 'on SIGTERM: longest wait for requests in flight' },
};

export class OptionsError extends Error {}

const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** `500ms`, `60s`, `5m`, `1h30m`; a bare number is milliseconds. */
export function parseDuration(text: string): number {
  if (/^\d+$/.test(text)) return Number(text);
  const re = /(\d+(?:\.\d+)?)(ms|s|m|h)/y;
  let total = 0;
  let pos = 0;
  if (text.length === 0) throw new Error('empty duration');
  while (pos < text.length) {
    re.lastIndex = pos;
    const m = re.exec(text);
    if (!m) throw new Error(`bad duration ${JSON.stringify(text)} (use e.g. 500ms, 60s, 5m)`);
    total += Number(m[1]) * UNITS[m[2]];
    pos = re.lastIndex;
  }
  return Math.round(total);
}

export function envName(flag: string): string {
  return `SLUICE_${flag.toUpperCase().replaceAll('-', '_')}`;
}

export function usage(): string {
  const lines = Object.entries(FLAGS).map(
    ([k, v]) =>
      `  --${k}=...  (${envName(k)})  ${v.help}${v.default !== undefined ? ` [${v.default || '""'}]` : ''}`,
  );
  return `usage: dataplane/main.ts [flags]\n${lines.join('\n')}\n`;
}

export function parseOptions(
  argv: readonly string[],
  env: NodeJS.ProcessEnv = process.env,
): DataplaneOptions {
  let values: Record<string, string | undefined>;
  try {
    const options = Object.fromEntries(Object.keys(FLAGS).map((k) => [k, { type: 'string' as const }]));
    values = parseArgs({ args: [...argv], options, strict: true, allowPositionals: false }).values as Record<
      string,
      string | undefined
    >;
  } catch (err) {
    throw new OptionsError(`${(err as Error).message}\n${usage()}`);
  }
  const problems: string[] = [];
  const get = (k: string): string | undefined => {
    const v = values[k] ?? env[envName(k)] ?? FLAGS[k].default;
    return v === undefined || v === '' ? (FLAGS[k].default === '' ? '' : undefined) : v;
  };
  const int = (k: string, min: number, max: number): number => {
    const raw = get(k) ?? '';
    const n = Number(raw);
    if (!/^\d+$/.test(raw) || n < min || n > max) {
      problems.push(`--${k}: ${JSON.stringify(raw)} is not an integer in ${min}..${max}`);
    }
    return n;
  };
  const dur = (k: string, min: number): number => {
    const raw = get(k) ?? '';
    try {
      const ms = parseDuration(raw);
      if (ms < min) problems.push(`--${k}: must be at least ${min}ms`);
      return ms;
    } catch (err) {
      problems.push(`--${k}: ${(err as Error).message}`);
      return 0;
    }
  };
  const addr = (k: string): string => {
    const raw = get(k) ?? '';
    if (isIP(raw) === 0) problems.push(`--${k}: ${JSON.stringify(raw)} is not an IP address`);
    return raw;
  };
  const bool = (k: string): boolean => {
    const raw = (get(k) ?? '').toLowerCase();
    if (raw !== 'true' && raw !== 'false') problems.push(`--${k}: must be true or false`);
    return raw === 'true';
  };
  const pair = (cert: string, key: string) => {
    if ((get(cert) === undefined) !== (get(key) === undefined))
      problems.push(`--${cert} and --${key} go together`);
  };

  const opts: DataplaneOptions = {
    address: addr('address'),
    httpPort: int('http-port', 0, 65535),
    httpsPort: int('https-port', 0, 65535),
    configAddress: addr('config-address'),
    configPort: int('config-port', 0, 65535),
    opsAddress: addr('ops-address'),
    opsPort: int('ops-port', 0, 65535),
    configTokenFile: get('config-token-file') ?? '',
    configTlsCertFile: get('config-tls-cert-file'),
    configTlsKeyFile: get('config-tls-key-file'),
    configMaxBytes: int('config-max-bytes', 1024, 1024 * 1024 * 1024),
    stateFile: get('state-file'),
    defaultCertFile: get('default-cert-file'),
    defaultKeyFile: get('default-key-file'),
    trustedProxies: (get('trusted-proxies') ?? '')
      .split(',')
      .map((s) => s.trim())
      .filter((s) => s !== ''),
    accessLog: bool('access-log'),
    logLevel: get('log-level') ?? 'info',
    httpsRedirectPort: int('https-redirect-port', 1, 65535),
    maxHeaderBytes: int('max-header-bytes', 1024, 1024 * 1024),
    headerTimeoutMs: dur('header-timeout', 1),
    requestTimeoutMs: dur('request-timeout', 0),
    keepAliveTimeoutMs: dur('keepalive-timeout', 1),
    upstreamKeepAliveTimeoutMs: dur('upstream-keepalive-timeout', 1),
    upstreamMaxConnections: int('upstream-max-connections', 1, 65535),
    ejectBaseMs: dur('eject-base', 1),
    ejectMaxMs: dur('eject-max', 1),
    retryAfterSeconds: int('retry-after', 0, 86400),
    drainDelayMs: dur('drain-delay', 0),
    drainTimeoutMs: dur('drain-timeout', 0),
  };
  if (opts.configTokenFile === '') problems.push('--config-token-file: required');
  pair('config-tls-cert-file', 'config-tls-key-file');
  pair('default-cert-file', 'default-key-file');
  if (!['fatal', 'error', 'warn', 'info', 'debug', 'trace'].includes(opts.logLevel)) {
    problems.push(`--log-level: ${JSON.stringify(opts.logLevel)} is not a level`);
  }
  if (opts.requestTimeoutMs !== 0 && opts.requestTimeoutMs < opts.headerTimeoutMs) {
    problems.push('--request-timeout: must be 0 or at least --header-timeout');
  }
  if (problems.length > 0) throw new OptionsError(problems.join('\n'));
  return opts;
}
