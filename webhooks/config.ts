// The webhook's flags (grammar and environment fallbacks in contract/flags.ts). Every value is
// checked here; a bad one stops the process at start with all problems listed.
import { existsSync, readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { type FlagSpecs, Flags, usage as flagUsage } from '../contract/flags.ts';
import { CONTROLLER_NAME, DEFAULT_CLASS_NAME } from '../operator/compile/api.ts';
import { INGRESS_NGINX_FLAGS, readIngressNginxClassNames } from '../operator/compile/classes/mode.ts';
import { NGINX_SNIPPET_FLAGS, readNginxSnippets } from '../operator/compile/ingress/nginx/snippets.ts';
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
  /** ingress-nginx mode: the class names taken over; undefined when off. */
  ingressNginxClassNames: string[] | undefined;
  /** ingress-nginx annotations that are nginx text: refuse (default) or warn. */
  nginxSnippets: 'refuse' | 'warn';
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

export const FLAGS: FlagSpecs = {
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
  ...INGRESS_NGINX_FLAGS,
  ...NGINX_SNIPPET_FLAGS,
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
  'recheck-conflicts': {
    default: 'true',
    help: 'confirm a conflict with the API server before denying',
    boolean: true,
  },
  'log-level': { default: 'info', help: 'fatal, error, warn, info, debug or trace' },
};

const SA_NAMESPACE = '/var/run/secrets/kubernetes.io/serviceaccount/namespace';

export function usage(): string {
  return flagUsage('webhooks/main.ts', FLAGS);
}

export function loadConfig(argv: readonly string[], env: NodeJS.ProcessEnv = process.env): WebhookConfig {
  const f = new Flags(argv, env, FLAGS);
  const get = (k: string) => f.get(k);

  let namespace = get('namespace');
  if (!namespace)
    namespace = existsSync(SA_NAMESPACE) ? readFileSync(SA_NAMESPACE, 'utf8').trim() : DEFAULTS.namespace;
  const hostOwnership = f.oneOf('host-ownership', ['strict', 'shared'] as const);
  const logLevel = f.oneOf('log-level', [
    'info',
    'fatal',
    'error',
    'warn',
    'debug',
    'trace',
    'silent',
  ] as const);

  const certFile = get('tls-cert-file');
  const keyFile = get('tls-key-file');
  const mode = get('tls-mode') ?? (certFile || keyFile ? 'files' : 'self-managed');
  let tls: WebhookConfig['tls'];
  if (mode === 'files') {
    if (!certFile || !keyFile) f.problem('files TLS mode needs --tls-cert-file and --tls-key-file');
    tls = {
      mode,
      certFile: certFile ?? '',
      keyFile: keyFile ?? '',
      pollIntervalMs: f.duration('tls-file-poll-interval'),
    };
  } else if (mode === 'self-managed') {
    const extraNames = (get('tls-extra-names') ?? '')
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean);
    for (const n of extraNames) {
      if (!isIP(n) && !/^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/.test(n)) {
        f.problem(`--tls-extra-names: ${JSON.stringify(n)} is neither a DNS name nor an IP address`);
      }
    }
    tls = {
      mode,
      secretName: get('cert-secret-name') ?? DEFAULTS.certSecretName,
      webhookConfigurationName: get('webhook-configuration-name') ?? DEFAULTS.webhookConfigurationName,
      serviceName: get('service-name') ?? DEFAULTS.serviceName,
      extraNames,
      caValidityMs: f.duration('ca-validity'),
      certValidityMs: f.duration('cert-validity'),
      propagationDelayMs: f.duration('ca-propagation-delay'),
      checkIntervalMs: f.duration('cert-check-interval'),
    };
  } else {
    f.problem(`--tls-mode: must be files or self-managed, not ${JSON.stringify(mode)}`);
    tls = { mode: 'files', certFile: '', keyFile: '', pollIntervalMs: 0 };
  }

  const config: WebhookConfig = {
    address: get('address') ?? '0.0.0.0',
    port: f.int('port', 0, 65535),
    opsAddress: get('ops-address') ?? '0.0.0.0',
    opsPort: f.int('ops-port', 0, 65535),
    kubeconfig: get('kubeconfig') || undefined,
    namespace,
    controllerName: get('controller-name') ?? CONTROLLER_NAME,
    className: get('class-name') ?? DEFAULT_CLASS_NAME,
    ingressNginxClassNames: readIngressNginxClassNames(f),
    nginxSnippets: readNginxSnippets(f),
    hostOwnership,
    tls,
    maxBodyBytes: f.int('max-body-bytes', 1024, 64 * 1024 * 1024),
    recheckConflicts: f.bool('recheck-conflicts'),
    logLevel,
  };
  return f.done(config);
}
