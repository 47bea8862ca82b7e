// Operator settings: each is a flag `--kebab-case=value` with an environment fallback
// `SLUICE_UPPER_SNAKE`, then a default. Documented in docs/operator.md; bad values are reported
// together, clearly, before anything starts.

import { existsSync, readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import type { V1IngressLoadBalancerIngress } from '@kubernetes/client-node';
import { type FlagSpecs, Flags, usage as flagUsage } from '../contract/flags.ts';
import { CONTROLLER_NAME, DEFAULT_CLASS_NAME } from './compile/api.ts';
import { INGRESS_NGINX_FLAGS, readIngressNginxClassNames } from './compile/classes/mode.ts';
import { NGINX_SNIPPET_FLAGS, readNginxSnippets } from './compile/ingress/nginx/snippets.ts';
import { parseStaticEndpoints, type Replica } from './push/replicas.ts';
import { parsePublishAddresses } from './status/loadbalancer.ts';

export interface OperatorConfig {
  kubeconfig: string | undefined;
  className: string;
  controllerName: string;
  hostOwnership: 'strict' | 'shared';
  defaultCertificate: string | undefined;
  dataplaneNamespace: string;
  dataplaneService: string;
  dataplanePortName: string;
  dataplanePort: number;
  dataplaneEndpoints: Replica[] | undefined;
  dataplaneCaFile: string | undefined;
  dataplaneServerName: string | undefined;
  configTokenFile: string;
  pushTimeoutMs: number;
  publishService: { namespace: string; name: string } | undefined;
  publishAddresses: V1IngressLoadBalancerIngress[] | undefined;
  /** false: Ingress status.loadBalancer is left alone. */
  publishStatus: boolean;
  /** ingress-nginx mode: the class names taken over; undefined when off. */
  ingressNginxClassNames: string[] | undefined;
  /** ingress-nginx annotations that are nginx text: refuse (default) or warn. */
  nginxSnippets: 'refuse' | 'warn';
  leaderElect: boolean;
  leaseName: string;
  leaseNamespace: string;
  leaseDurationMs: number;
  renewDeadlineMs: number;
  retryPeriodMs: number;
  identity: string;
  opsHost: string;
  opsPort: number;
  queueHoldOffMs: number;
  queueMaxDelayMs: number;
  logLevel: string;
}

const SA_NAMESPACE_FILE = '/var/run/secrets/kubernetes.io/serviceaccount/namespace';

function ownNamespace(env: NodeJS.ProcessEnv): string {
  if (env.POD_NAMESPACE) return env.POD_NAMESPACE;
  try {
    if (existsSync(SA_NAMESPACE_FILE)) return readFileSync(SA_NAMESPACE_FILE, 'utf8').trim();
  } catch {
    // not in a cluster
  }
  return 'sluice-system';
}

export const FLAGS: FlagSpecs = {
  kubeconfig: { help: 'kubeconfig file; default: in-cluster config, else $KUBECONFIG or ~/.kube/config' },
  'class-name': {
    help: 'IngressClass name also accepted in the legacy annotation',
    default: DEFAULT_CLASS_NAME,
  },
  'controller-name': { help: 'spec.controller of IngressClasses served', default: CONTROLLER_NAME },
  ...INGRESS_NGINX_FLAGS,
  ...NGINX_SNIPPET_FLAGS,
  'host-ownership': { help: 'strict (a host belongs to one namespace) or shared', default: 'strict' },
  'default-certificate': { help: '<namespace>/<name> of the TLS Secret served when no SNI name matches' },
  'dataplane-namespace': { help: "namespace of the data plane's Service; default: own namespace" },
  'dataplane-service': {
    help: "the data plane's Service, whose EndpointSlices list the replicas",
    default: 'sluice-dataplane',
  },
  'dataplane-port-name': { help: 'EndpointSlice port name of the config API', default: 'config' },
  'dataplane-port': { help: 'config API port, used when no port has that name', default: '9000' },
  'dataplane-endpoints': { help: 'fixed replica list instead of discovery, e.g. http://127.0.0.1:9000,...' },
  'dataplane-ca-file': { help: 'PEM CA that signs the data-plane config API certificates (enables https)' },
  'dataplane-server-name': { help: 'name to verify in data-plane certificates instead of the address' },
  'config-token-file': { help: 'file holding the config API bearer token (required)' },
  'push-timeout': { help: 'timeout of one config push', default: '10s' },
  'publish-service': {
    help: '<namespace>/<name> whose load-balancer status goes to Ingress status; default: the data-plane Service',
  },
  'publish-address': { help: 'comma-separated IPs or DNS names for Ingress status, instead of a Service' },
  'publish-status': {
    help: 'write status.loadBalancer of the Ingresses served (false while another controller writes it)',
    default: 'true',
    boolean: true,
  },
  'leader-elect': {
    help: 'elect a leader through a Lease (false: this instance always leads)',
    default: 'true',
    boolean: true,
  },
  'lease-name': { help: 'name of the leader Lease', default: 'sluice-operator' },
  'lease-namespace': { help: 'namespace of the leader Lease; default: own namespace' },
  'lease-duration': { help: 'how long a Lease stays valid without renewal', default: '15s' },
  'renew-deadline': { help: 'a leader that has not renewed for this long steps down', default: '10s' },
  'retry-period': { help: 'interval of acquire and renew attempts', default: '2s' },
  identity: { help: 'leader election identity; default: $POD_NAME, else <hostname>-<pid>' },
  'ops-host': { help: 'address of the ops server (/healthz, /readyz, /metrics)', default: '0.0.0.0' },
  'ops-port': { help: 'port of the ops server', default: '9101' },
  'queue-hold-off': { help: 'quiet time after a change before compiling', default: '10ms' },
  'queue-max-delay': { help: 'longest a change waits while changes keep coming', default: '1s' },
  'log-level': { help: 'trace, debug, info, warn, error or fatal', default: 'info' },
};

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
const DNS_SUBDOMAIN = /^(?=.{1,253}$)[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

export function loadConfig(argv: string[], env: NodeJS.ProcessEnv = process.env): OperatorConfig {
  const f = new Flags(argv, env, FLAGS);
  const get = (flag: string) => f.get(flag);
  const nsName = (flag: string): { namespace: string; name: string } | undefined => {
    const v = get(flag);
    if (v === undefined) return undefined;
    const [ns, name, extra] = v.split('/');
    if (extra !== undefined || !DNS_LABEL.test(ns ?? '') || !DNS_SUBDOMAIN.test(name ?? '')) {
      f.problem(`--${flag}: ${JSON.stringify(v.slice(0, 80))} is not <namespace>/<name>`);
      return undefined;
    }
    return { namespace: ns, name };
  };

  const hostOwnership = f.oneOf('host-ownership', ['strict', 'shared'] as const);
  const namespace = ownNamespace(env);
  const dataplaneNamespace = f.matching('dataplane-namespace', DNS_LABEL, 'a namespace name') ?? namespace;
  const dataplaneService = f.matching('dataplane-service', DNS_LABEL, 'a Service name') ?? 'sluice-dataplane';

  let dataplaneEndpoints: Replica[] | undefined;
  const endpoints = get('dataplane-endpoints');
  if (endpoints !== undefined) {
    try {
      dataplaneEndpoints = parseStaticEndpoints(endpoints);
    } catch (err) {
      f.problem(`--dataplane-endpoints: ${(err as Error).message}`);
    }
  }
  let publishAddresses: V1IngressLoadBalancerIngress[] | undefined;
  const addresses = get('publish-address');
  if (addresses !== undefined) {
    try {
      publishAddresses = parsePublishAddresses(addresses);
    } catch (err) {
      f.problem(`--publish-address: ${(err as Error).message}`);
    }
  }
  const tokenFile = get('config-token-file');
  if (tokenFile === undefined) f.problem('--config-token-file (or SLUICE_CONFIG_TOKEN_FILE) is required');
  const defaultCertificate = nsName('default-certificate');
  const leaseDurationMs = f.duration('lease-duration');
  const renewDeadlineMs = f.duration('renew-deadline');
  const retryPeriodMs = f.duration('retry-period');
  if (!(leaseDurationMs > renewDeadlineMs && renewDeadlineMs > retryPeriodMs)) {
    f.problem('--lease-duration > --renew-deadline > --retry-period must hold');
  }
  const logLevel = f.oneOf('log-level', ['info', 'trace', 'debug', 'warn', 'error', 'fatal'] as const);
  const identity = get('identity') ?? env.POD_NAME ?? `${hostname()}-${process.pid}`;

  const config: OperatorConfig = {
    kubeconfig: get('kubeconfig'),
    className: f.matching('class-name', DNS_SUBDOMAIN, 'an IngressClass name') ?? DEFAULT_CLASS_NAME,
    controllerName: get('controller-name') ?? CONTROLLER_NAME,
    hostOwnership,
    defaultCertificate: defaultCertificate
      ? `${defaultCertificate.namespace}/${defaultCertificate.name}`
      : undefined,
    dataplaneNamespace,
    dataplaneService,
    dataplanePortName:
      f.matching('dataplane-port-name', /^[a-z0-9]([-a-z0-9]{0,13}[a-z0-9])?$/, 'a port name') ?? 'config',
    dataplanePort: f.int('dataplane-port', 1, 65535),
    dataplaneEndpoints,
    dataplaneCaFile: get('dataplane-ca-file'),
    dataplaneServerName: get('dataplane-server-name'),
    configTokenFile: tokenFile ?? '',
    pushTimeoutMs: f.duration('push-timeout'),
    publishService: nsName('publish-service') ?? { namespace: dataplaneNamespace, name: dataplaneService },
    publishAddresses,
    publishStatus: f.bool('publish-status'),
    ingressNginxClassNames: readIngressNginxClassNames(f),
    nginxSnippets: readNginxSnippets(f),
    leaderElect: f.bool('leader-elect'),
    leaseName: f.matching('lease-name', DNS_SUBDOMAIN, 'a Lease name') ?? 'sluice-operator',
    leaseNamespace: f.matching('lease-namespace', DNS_LABEL, 'a namespace name') ?? namespace,
    leaseDurationMs,
    renewDeadlineMs,
    retryPeriodMs,
    identity,
    opsHost: get('ops-host') ?? '0.0.0.0',
    opsPort: f.int('ops-port', 1, 65535),
    queueHoldOffMs: f.duration('queue-hold-off'),
    queueMaxDelayMs: f.duration('queue-max-delay'),
    logLevel,
  };
  if (identity === '' || identity.length > 128) f.problem('--identity: must be 1 to 128 characters');
  return f.done(config);
}

export function usage(): string {
  return flagUsage('operator/main.ts', FLAGS);
}
