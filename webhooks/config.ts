// Command-line flags (`--kebab-case=value`) with `SLUICE_UPPER_SNAKE` environment fallbacks.
// Every value is checked here; a bad one stops the process at start with all problems listed.
import { existsSync, readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { parseArgs } from 'node:util';
import { CONTROLLER_NAME, DEFAULT_CLASS_NAME } from '../operator/compile/api.ts';
import { DEFAULT_BODY_LIMIT } from './admission.ts';
import { DEFAULTS } from './manifests.ts';

export interface WebhookConfig {
  address: string;
  port: number;
  opsAddress: string;
  opsPort: number;
  kubeconfig?: string;
  namespace: string;
  controllerName: string;
  className: string;
  hostOwnership: 'strict' | 'shared';
  tls:
    | { mode: 'files'; certFile: string; keyFile: string; pollIntervalMs: number }
    | {
        mode: 'self-managed';
        secretName: string;
        webhookConfigurationName: string;
        serviceName: string;
        extraNames: string[];
        caValidityMs: number;
        certValidityMs: number;
        propagationDelayMs: number;
        checkIntervalMs: number;
      };
  maxBodyBytes: number;
  recheckConflicts: boolean;
  logLevel: string;
}

interface FlagSpec {
  default?: string;
  help: string;
}

export const FLAGS: Record<string, FlagSpec> = {
  address: { default: '0.0.0.0', help: 'address the HTTPS admission server binds' },
  port: { default: '8443', help: 'HTTPS admission port' },
  'ops-address': { default: '0.0.0.0', help: 'address of the ops server (/healthz, /readyz, /metrics)' },
  'ops-port': { default: '9102', help: 'ops port' },
  kubeconfig: {
    help: 'kubeconfig file (default: in-cluster service account, else $KUBECONFIG or ~/.kube/config)',
  },
  namespace: { help: "the webhook's own namespace (default: the pod's, else sluice-system)" },
  'controller-name': { default: CONTROLLER_NAME, help: 'IngressClass spec.controller that Sluice serves' },
  'class-name': {
    default: DEFAULT_CLASS_NAME,
    help: 'class accepted in the legacy kubernetes.io/ingress.class annotation',
  },
  'host-ownership': {
    default: 'strict',
    help: 'strict: a host belongs to the namespace of its oldest Ingress; shared',
  },
  'tls-mode': { help: 'files or self-managed (default: files when --tls-cert-file is set)' },
  'tls-cert-file': { help: 'PEM serving certificate (files mode), reloaded when it changes' },
  'tls-key-file': { help: 'PEM private key (files mode)' },
  'tls-file-poll-interval': { default: '10s', help: 'files mode: re-read interval besides file watching' },
  'cert-secret-name': {
    default: DEFAULTS.certSecretName,
    help: 'self-managed mode: Secret holding CA and serving certificate',
  },
  'webhook-configuration-name': {
    default: DEFAULTS.webhookConfigurationName,
    help: 'self-managed mode: ValidatingWebhookConfiguration whose caBundle is kept current',
  },
  'service-name': {
    default: DEFAULTS.serviceName,
    help: "self-managed mode: the webhook's Service (certificate DNS names)",
  },
  'tls-extra-names': {
    default: '',
    help: 'self-managed mode: extra DNS names / IP addresses, comma-separated',
  },
  'ca-validity': { default: '365d', help: 'self-managed mode: CA lifetime' },
  'cert-validity': { default: '90d', help: 'self-managed mode: serving certificate lifetime' },
  'ca-propagation-delay': {
    default: '30s',
    help: 'self-managed mode: wait between publishing a new CA and using it',
  },
  'cert-check-interval': { default: '1m', help: 'self-managed mode: how often rotation is checked' },
  'max-body-bytes': {
    default: String(DEFAULT_BODY_LIMIT),
    help: 'largest AdmissionReview accepted (413 above)',
  },
  'recheck-conflicts': { default: 'true', help: 'confirm a conflict with the API server before denying' },
  'log-level': { default: 'info', help: 'fatal, error, warn, info, debug or trace' },
};

export class ConfigError extends Error {}

const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** `90d`, `12h`, `1h30m`, `500ms`, `45s` -> milliseconds. */
export function parseDuration(text: string): number {
  const re = /(\d+(?:\.\d+)?)(ms|s|m|h|d)/y;
  let total = 0;
  let pos = 0;
  while (pos < text.length) {
    re.lastIndex = pos;
    const m = re.exec(text);
    if (!m) throw new Error(`bad duration ${JSON.stringify(text)} (use e.g. 90d, 12h, 1h30m, 500ms)`);
    total += Number(m[1]) * UNITS[m[2]];
    pos = re.lastIndex;
  }
  if (text.length === 0) throw new Error('empty duration');
  return total;
}

const SA_NAMESPACE = '/var/run/secrets/kubernetes.io/serviceaccount/namespace';

function envName(flag: string): string {
  return `SLUICE_${flag.toUpperCase().replaceAll('-', '_')}`;
}

export function usage(): string {
  const lines = Object.entries(FLAGS).map(
    ([k, v]) =>
      `  --${k}=...  (${envName(k)})  ${v.help}${v.default !== undefined ? ` [${v.default || '""'}]` : ''}`,
  );
  return `usage: webhooks/main.ts [flags]\n${lines.join('\n')}\n`;
}

export function parseConfig(argv: readonly string[], env: NodeJS.ProcessEnv = process.env): WebhookConfig {
  let values: Record<string, string | undefined>;
  try {
    const options = Object.fromEntries(Object.keys(FLAGS).map((k) => [k, { type: 'string' as const }]));
    values = parseArgs({ args: [...argv], options, strict: true, allowPositionals: false }).values as Record<
      string,
      string | undefined
    >;
  } catch (err) {
    throw new ConfigError(`${(err as Error).message}\n${usage()}`);
  }
  const problems: string[] = [];
  const get = (k: string): string | undefined => values[k] ?? env[envName(k)] ?? FLAGS[k].default;
  const num = (k: string, min: number, max: number): number => {
    const raw = get(k) ?? '';
    const n = Number(raw);
    if (!/^\d+$/.test(raw) || n < min || n > max)
      problems.push(`--${k}: ${JSON.stringify(raw)} is not an integer in ${min}..${max}`);
    return n;
  };
  const dur = (k: string): number => {
    try {
      const ms = parseDuration(get(k) ?? '');
      if (ms <= 0) throw new Error('must be positive');
      return ms;
    } catch (err) {
      problems.push(`--${k}: ${(err as Error).message}`);
      return 0;
    }
  };
  const bool = (k: string): boolean => {
    const v = (get(k) ?? '').toLowerCase();
    if (v !== 'true' && v !== 'false') problems.push(`--${k}: must be true or false`);
    return v === 'true';
  };

  let namespace = get('namespace');
  if (!namespace)
    namespace = existsSync(SA_NAMESPACE) ? readFileSync(SA_NAMESPACE, 'utf8').trim() : DEFAULTS.namespace;
  const hostOwnership = get('host-ownership');
  if (hostOwnership !== 'strict' && hostOwnership !== 'shared')
    problems.push('--host-ownership: must be strict or shared');
  const logLevel = get('log-level') ?? 'info';
  if (!['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].includes(logLevel)) {
    problems.push(`--log-level: unknown level ${JSON.stringify(logLevel)}`);
  }

  const certFile = get('tls-cert-file');
  const keyFile = get('tls-key-file');
  const mode = get('tls-mode') ?? (certFile || keyFile ? 'files' : 'self-managed');
  let tls: WebhookConfig['tls'];
  if (mode === 'files') {
    if (!certFile || !keyFile) problems.push('files TLS mode needs --tls-cert-file and --tls-key-file');
    tls = {
      mode,
      certFile: certFile ?? '',
      keyFile: keyFile ?? '',
      pollIntervalMs: dur('tls-file-poll-interval'),
    };
  } else if (mode === 'self-managed') {
    const extraNames = (get('tls-extra-names') ?? '')
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean);
    for (const n of extraNames) {
      if (!isIP(n) && !/^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/.test(n)) {
        problems.push(`--tls-extra-names: ${JSON.stringify(n)} is neither a DNS name nor an IP address`);
      }
    }
    tls = {
      mode,
      secretName: get('cert-secret-name') ?? DEFAULTS.certSecretName,
      webhookConfigurationName: get('webhook-configuration-name') ?? DEFAULTS.webhookConfigurationName,
      serviceName: get('service-name') ?? DEFAULTS.serviceName,
      extraNames,
      caValidityMs: dur('ca-validity'),
      certValidityMs: dur('cert-validity'),
      propagationDelayMs: dur('ca-propagation-delay'),
      checkIntervalMs: dur('cert-check-interval'),
    };
  } else {
    problems.push(`--tls-mode: must be files or self-managed, not ${JSON.stringify(mode)}`);
    tls = { mode: 'files', certFile: '', keyFile: '', pollIntervalMs: 0 };
  }

  const config: WebhookConfig = {
    address: get('address') ?? '0.0.0.0',
    port: num('port', 0, 65535),
    opsAddress: get('ops-address') ?? '0.0.0.0',
    opsPort: num('ops-port', 0, 65535),
    kubeconfig: get('kubeconfig') || undefined,
    namespace,
    controllerName: get('controller-name') ?? CONTROLLER_NAME,
    className: get('class-name') ?? DEFAULT_CLASS_NAME,
    hostOwnership: hostOwnership === 'shared' ? 'shared' : 'strict',
    tls,
    maxBodyBytes: num('max-body-bytes', 1024, 64 * 1024 * 1024),
    recheckConflicts: bool('recheck-conflicts'),
    logLevel,
  };
  if (problems.length > 0)
    throw new ConfigError(`invalid configuration:\n${problems.map((p) => `  ${p}`).join('\n')}`);
  return config;
}
