// Operator settings: each is a flag `--kebab-case=value` with an environment fallback
// `SLUICE_UPPER_SNAKE`, then a default. Documented in docs/operator.md; bad values are reported
// together, clearly, before anything starts.

import { existsSync, readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import type { V1IngressLoadBalancerIngress } from '@kubernetes/client-node';
import { CONTROLLER_NAME, DEFAULT_CLASS_NAME } from './compile/api.ts';
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

export interface FlagSpec {
  flag: string;
  help: string;
  default?: string;
  boolean?: boolean;
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

export const FLAGS: FlagSpec[] = [
  {
    flag: 'kubeconfig',
    help: 'kubeconfig file; default: in-cluster config, else $KUBECONFIG or ~/.kube/config',
  },
  {
    flag: 'class-name',
    help: 'IngressClass name also accepted in the legacy annotation',
    default: DEFAULT_CLASS_NAME,
  },
  { flag: 'controller-name', help: 'spec.controller of IngressClasses served', default: CONTROLLER_NAME },
  { flag: 'host-ownership', help: 'strict (a host belongs to one namespace) or shared', default: 'strict' },
  {
    flag: 'default-certificate',
    help: '<namespace>/<name> of the TLS Secret served when no SNI name matches',
  },
  { flag: 'dataplane-namespace', help: "namespace of the data plane's Service; default: own namespace" },
  {
    flag: 'dataplane-service',
    help: "the data plane's Service, whose EndpointSlices list the replicas",
    default: 'sluice-dataplane',
  },
  { flag: 'dataplane-port-name', help: 'EndpointSlice port name of the config API', default: 'config' },
  { flag: 'dataplane-port', help: 'config API port, used when no port has that name', default: '9000' },
  {
    flag: 'dataplane-endpoints',
    help: 'fixed replica list instead of discovery, e.g. http://127.0.0.1:9000,...',
  },
  {
    flag: 'dataplane-ca-file',
    help: 'PEM CA that signs the data-plane config API certificates (enables https)',
  },
  { flag: 'dataplane-server-name', help: 'name to verify in data-plane certificates instead of the address' },
  { flag: 'config-token-file', help: 'file holding the config API bearer token (required)' },
  { flag: 'push-timeout', help: 'timeout of one config push', default: '10s' },
  {
    flag: 'publish-service',
    help: '<namespace>/<name> whose load-balancer status goes to Ingress status; default: the data-plane Service',
  },
  {
    flag: 'publish-address',
    help: 'comma-separated IPs or DNS names for Ingress status, instead of a Service',
  },
  {
    flag: 'leader-elect',
    help: 'elect a leader through a Lease (false: this instance always leads)',
    default: 'true',
    boolean: true,
  },
  { flag: 'lease-name', help: 'name of the leader Lease', default: 'sluice-operator' },
  { flag: 'lease-namespace', help: 'namespace of the leader Lease; default: own namespace' },
  { flag: 'lease-duration', help: 'how long a Lease stays valid without renewal', default: '15s' },
  { flag: 'renew-deadline', help: 'a leader that has not renewed for this long steps down', default: '10s' },
  { flag: 'retry-period', help: 'interval of acquire and renew attempts', default: '2s' },
  { flag: 'identity', help: 'leader election identity; default: $POD_NAME, else <hostname>-<pid>' },
  { flag: 'ops-host', help: 'address of the ops server (/healthz, /readyz, /metrics)', default: '0.0.0.0' },
  { flag: 'ops-port', help: 'port of the ops server', default: '9101' },
  { flag: 'queue-hold-off', help: 'quiet time after a change before compiling', default: '10ms' },
  { flag: 'queue-max-delay', help: 'longest a change waits while changes keep coming', default: '1s' },
  { flag: 'log-level', help: 'trace, debug, info, warn, error or fatal', default: 'info' },
];

export function envName(flag: string): string {
  return `SLUICE_${flag.toUpperCase().replace(/-/g, '_')}`;
}

export class ConfigError extends Error {
  readonly problems: string[];
  constructor(problems: string[]) {
    super(`invalid settings:\n  ${problems.join('\n  ')}`);
    this.name = 'ConfigError';
    this.problems = problems;
  }
}

/** Raw values by flag name: argv first, then the environment, then defaults. */
export function readRaw(
  argv: string[],
  env: NodeJS.ProcessEnv,
): { values: Map<string, string>; problems: string[] } {
  const known = new Map(FLAGS.map((f) => [f.flag, f]));
  const values = new Map<string, string>();
  const problems: string[] = [];
  for (const arg of argv) {
    const m = /^--([a-z][a-z0-9-]*)(?:=([\s\S]*))?$/.exec(arg);
    const spec = m ? known.get(m[1]) : undefined;
    if (!m || !spec) {
      problems.push(`unknown argument ${JSON.stringify(arg.slice(0, 80))} (see --help)`);
      continue;
    }
    if (m[2] === undefined && !spec.boolean) {
      problems.push(`--${m[1]} needs a value: --${m[1]}=...`);
      continue;
    }
    values.set(m[1], m[2] ?? 'true');
  }
  for (const f of FLAGS) {
    if (values.has(f.flag)) continue;
    const fromEnv = env[envName(f.flag)];
    if (fromEnv !== undefined && fromEnv !== '') values.set(f.flag, fromEnv);
    else if (f.default !== undefined) values.set(f.flag, f.default);
  }
  return { values, problems };
}

/** `250ms`, `2s`, `1m`, or a bare number of milliseconds. */
export function parseDuration(text: string): number | undefined {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m)?$/.exec(text.trim());
  if (!m) return undefined;
  const n = Number(m[1]);
  const unit = m[2] ?? 'ms';
  return Math.round(unit === 'ms' ? n : unit === 's' ? n * 1000 : n * 60_000);
}

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
const DNS_SUBDOMAIN = /^(?=.{1,253}$)[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

export function loadConfig(argv: string[], env: NodeJS.ProcessEnv = process.env): OperatorConfig {
  const { values, problems } = readRaw(argv, env);
  const get = (flag: string) => values.get(flag);
  const str = (flag: string, pattern?: RegExp, what?: string): string | undefined => {
    const v = get(flag);
    if (v !== undefined && pattern && !pattern.test(v)) {
      problems.push(`--${flag}: ${JSON.stringify(v.slice(0, 80))} is not ${what}`);
      return undefined;
    }
    return v;
  };
  const duration = (flag: string): number => {
    const v = get(flag) ?? '';
    const ms = parseDuration(v);
    if (ms === undefined || ms <= 0) {
      problems.push(`--${flag}: ${JSON.stringify(v.slice(0, 40))} is not a duration like 500ms, 2s or 1m`);
      return 1;
    }
    return ms;
  };
  const port = (flag: string): number => {
    const v = get(flag) ?? '';
    const n = Number(v);
    if (!/^\d+$/.test(v) || n < 1 || n > 65535) {
      problems.push(`--${flag}: ${JSON.stringify(v.slice(0, 40))} is not a port number`);
      return 0;
    }
    return n;
  };
  const nsName = (flag: string): { namespace: string; name: string } | undefined => {
    const v = get(flag);
    if (v === undefined) return undefined;
    const [ns, name, extra] = v.split('/');
    if (extra !== undefined || !DNS_LABEL.test(ns ?? '') || !DNS_SUBDOMAIN.test(name ?? '')) {
      problems.push(`--${flag}: ${JSON.stringify(v.slice(0, 80))} is not <namespace>/<name>`);
      return undefined;
    }
    return { namespace: ns, name };
  };
  const bool = (flag: string): boolean => {
    const v = get(flag);
    if (v === 'true' || v === '1') return true;
    if (v === 'false' || v === '0') return false;
    problems.push(`--${flag}: ${JSON.stringify(v)} is not true or false`);
    return false;
  };

  const hostOwnership = get('host-ownership');
  if (hostOwnership !== 'strict' && hostOwnership !== 'shared') {
    problems.push(`--host-ownership: ${JSON.stringify(hostOwnership)} is not strict or shared`);
  }
  const namespace = ownNamespace(env);
  const dataplaneNamespace = str('dataplane-namespace', DNS_LABEL, 'a namespace name') ?? namespace;
  const dataplaneService = str('dataplane-service', DNS_LABEL, 'a Service name') ?? 'sluice-dataplane';

  let dataplaneEndpoints: Replica[] | undefined;
  const endpoints = get('dataplane-endpoints');
  if (endpoints !== undefined) {
    try {
      dataplaneEndpoints = parseStaticEndpoints(endpoints);
    } catch (err) {
      problems.push(`--dataplane-endpoints: ${(err as Error).message}`);
    }
  }
  let publishAddresses: V1IngressLoadBalancerIngress[] | undefined;
  const addresses = get('publish-address');
  if (addresses !== undefined) {
    try {
      publishAddresses = parsePublishAddresses(addresses);
    } catch (err) {
      problems.push(`--publish-address: ${(err as Error).message}`);
    }
  }
  const tokenFile = get('config-token-file');
  if (tokenFile === undefined) problems.push('--config-token-file (or SLUICE_CONFIG_TOKEN_FILE) is required');
  const defaultCertificate = nsName('default-certificate');
  const leaseDurationMs = duration('lease-duration');
  const renewDeadlineMs = duration('renew-deadline');
  const retryPeriodMs = duration('retry-period');
  if (!(leaseDurationMs > renewDeadlineMs && renewDeadlineMs > retryPeriodMs)) {
    problems.push('--lease-duration > --renew-deadline > --retry-period must hold');
  }
  const logLevel = get('log-level') ?? 'info';
  if (!['trace', 'debug', 'info', 'warn', 'error', 'fatal'].includes(logLevel)) {
    problems.push(`--log-level: ${JSON.stringify(logLevel)} is not a log level`);
  }
  const identity = get('identity') ?? env.POD_NAME ?? `${hostname()}-${process.pid}`;

  const config: OperatorConfig = {
    kubeconfig: get('kubeconfig'),
    className: str('class-name', DNS_SUBDOMAIN, 'an IngressClass name') ?? DEFAULT_CLASS_NAME,
    controllerName: get('controller-name') ?? CONTROLLER_NAME,
    hostOwnership: hostOwnership === 'shared' ? 'shared' : 'strict',
    defaultCertificate: defaultCertificate
      ? `${defaultCertificate.namespace}/${defaultCertificate.name}`
      : undefined,
    dataplaneNamespace,
    dataplaneService,
    dataplanePortName:
      str('dataplane-port-name', /^[a-z0-9]([-a-z0-9]{0,13}[a-z0-9])?$/, 'a port name') ?? 'config',
    dataplanePort: port('dataplane-port'),
    dataplaneEndpoints,
    dataplaneCaFile: get('dataplane-ca-file'),
    dataplaneServerName: get('dataplane-server-name'),
    configTokenFile: tokenFile ?? '',
    pushTimeoutMs: duration('push-timeout'),
    publishService: nsName('publish-service') ?? { namespace: dataplaneNamespace, name: dataplaneService },
    publishAddresses,
    leaderElect: bool('leader-elect'),
    leaseName: str('lease-name', DNS_SUBDOMAIN, 'a Lease name') ?? 'sluice-operator',
    leaseNamespace: str('lease-namespace', DNS_LABEL, 'a namespace name') ?? namespace,
    leaseDurationMs,
    renewDeadlineMs,
    retryPeriodMs,
    identity,
    opsHost: get('ops-host') ?? '0.0.0.0',
    opsPort: port('ops-port'),
    queueHoldOffMs: duration('queue-hold-off'),
    queueMaxDelayMs: duration('queue-max-delay'),
    logLevel,
  };
  if (identity === '' || identity.length > 128) problems.push('--identity: must be 1 to 128 characters');
  if (problems.length > 0) throw new ConfigError(problems);
  return config;
}

export function usage(): string {
  const lines = [
    'Usage: node operator/main.ts [--flag=value ...]',
    '',
    'Flags (environment fallback in brackets):',
  ];
  for (const f of FLAGS) {
    const def = f.default !== undefined ? ` (default ${f.default})` : '';
    lines.push(`  --${f.flag} [${envName(f.flag)}]`, `      ${f.help}${def}`);
  }
  return lines.join('\n');
}
