// The data plane's flags (grammar and environment fallbacks in flags.ts). Every value is checked
// here; a bad one stops the process at start with all problems listed. Documented in
// docs/dataplane.md.

import { type FlagSpecs, Flags, usage as flagUsage } from '../contract/flags.ts';

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
  /** Server header on every traffic answer; '' sends none. */
  serverHeader: string;
}

export const FLAGS: FlagSpecs = {
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
  'access-log': { default: 'true', help: 'JSON access log lines on stdout (true or false)', boolean: true },
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
  'server-header': {
    default: 'sluice',
    help: "Server header on every traffic answer (backends' own is never passed); none sends no Server header",
  },
};

const LOG_LEVELS = ['info', 'fatal', 'error', 'warn', 'debug', 'trace'] as const;

export function usage(): string {
  return flagUsage('dataplane/main.ts', FLAGS);
}

/** `none` turns the header off; anything else must be a printable header value (RFC 9110 5.5). */
function serverHeader(f: Flags): string {
  const raw = f.get('server-header') ?? 'sluice';
  if (raw === 'none') return '';
  if (raw.length > 256 || !/^[\x21-\x7e](?:[\x20-\x7e]*[\x21-\x7e])?$/.test(raw)) {
    f.problem(
      `--server-header: ${JSON.stringify(raw.slice(0, 80))} is not a header value (printable ASCII, no leading or trailing space, at most 256 characters; none removes the header)`,
    );
    return 'sluice';
  }
  return raw;
}

export function loadConfig(argv: readonly string[], env: NodeJS.ProcessEnv = process.env): DataplaneOptions {
  const f = new Flags(argv, env, FLAGS);
  const get = (k: string) => f.get(k);
  const pair = (cert: string, key: string) => {
    if ((get(cert) === undefined) !== (get(key) === undefined))
      f.problem(`--${cert} and --${key} go together`);
  };

  const opts: DataplaneOptions = {
    address: f.ip('address'),
    httpPort: f.int('http-port', 0, 65535),
    httpsPort: f.int('https-port', 0, 65535),
    configAddress: f.ip('config-address'),
    configPort: f.int('config-port', 0, 65535),
    opsAddress: f.ip('ops-address'),
    opsPort: f.int('ops-port', 0, 65535),
    configTokenFile: get('config-token-file') ?? '',
    configTlsCertFile: get('config-tls-cert-file'),
    configTlsKeyFile: get('config-tls-key-file'),
    configMaxBytes: f.int('config-max-bytes', 1024, 1024 * 1024 * 1024),
    stateFile: get('state-file'),
    defaultCertFile: get('default-cert-file'),
    defaultKeyFile: get('default-key-file'),
    trustedProxies: f.list('trusted-proxies'),
    accessLog: f.bool('access-log'),
    logLevel: f.oneOf('log-level', LOG_LEVELS),
    httpsRedirectPort: f.int('https-redirect-port', 1, 65535),
    maxHeaderBytes: f.int('max-header-bytes', 1024, 1024 * 1024),
    headerTimeoutMs: f.duration('header-timeout'),
    requestTimeoutMs: f.duration('request-timeout', 0),
    keepAliveTimeoutMs: f.duration('keepalive-timeout'),
    upstreamKeepAliveTimeoutMs: f.duration('upstream-keepalive-timeout'),
    upstreamMaxConnections: f.int('upstream-max-connections', 1, 65535),
    ejectBaseMs: f.duration('eject-base'),
    ejectMaxMs: f.duration('eject-max'),
    retryAfterSeconds: f.int('retry-after', 0, 86400),
    drainDelayMs: f.duration('drain-delay', 0),
    drainTimeoutMs: f.duration('drain-timeout', 0),
    serverHeader: serverHeader(f),
  };
  if (opts.configTokenFile === '') f.problem('--config-token-file: required');
  pair('config-tls-cert-file', 'config-tls-key-file');
  pair('default-cert-file', 'default-key-file');
  if (opts.requestTimeoutMs !== 0 && opts.requestTimeoutMs < opts.headerTimeoutMs) {
    f.problem('--request-timeout: must be 0 or at least --header-timeout');
  }
  return f.done(opts);
}
