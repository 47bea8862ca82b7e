// Objects that install the webhook: the ValidatingWebhookConfiguration, the cert-manager objects
// for its certificate, and the RBAC it needs. Pure builders; the Helm chart mirrors them and its
// tests compare against these.
import type { V1ClusterRole, V1Role, V1ValidatingWebhookConfiguration } from '@kubernetes/client-node';
// Types only: the objects are plain JSON, so the models package is never loaded at runtime.
import type { ICertificate, IIssuer } from '@kubernetes-models/cert-manager/cert-manager.io/v1';
import { DEFAULT_CLASS_NAME, RR_GROUP, RR_VERSION } from '../operator/compile/api.ts';

export const DEFAULTS = {
  namespace: 'sluice-system',
  serviceName: 'sluice-webhook',
  webhookConfigurationName: 'sluice-webhook',
  certSecretName: 'sluice-webhook-certs',
  servingCertificateName: 'sluice-webhook-tls',
} as const;

export const WEBHOOK_NAMES = {
  ingress: 'ingress.validate.sluice.dev',
  routeRatio: 'routeratio.validate.sluice.dev',
} as const;

export const PATHS = { ingress: '/validate/ingress', routeRatio: '/validate/routeratio' } as const;

const DNS_LABELS = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

function checkName(what: string, value: string): string {
  if (value.length > 253 || !DNS_LABELS.test(value))
    throw new Error(`${what} ${JSON.stringify(value)} is not a DNS name`);
  return value;
}

/** The Service DNS names a serving certificate needs. */
export function serviceDnsNames(serviceName: string, namespace: string): string[] {
  return [
    serviceName,
    `${serviceName}.${namespace}`,
    `${serviceName}.${namespace}.svc`,
    `${serviceName}.${namespace}.svc.cluster.local`,
  ];
}

export interface WebhookConfigurationOptions {
  name?: string;
  /** Sluice's namespace: excluded from review (the webhook must never block its own pods' namespace). */
  namespace?: string;
  /** The webhook's Service (default `sluice-webhook` in `namespace`, port 443). */
  service?: { name: string; namespace?: string; port?: number };
  /** Base URL instead of a Service, e.g. `https://127.0.0.1:8443`. */
  url?: string;
  /** PEM CA bundle; left out when cert-manager injects it or the webhook publishes its own. */
  caBundle?: string;
  /** Name of the cert-manager Certificate whose CA is injected (`cert-manager.io/inject-ca-from`). */
  certManagerCertificate?: string;
  /** IngressClass names Sluice serves; Ingresses naming any other class are never sent. */
  classNames?: string[];
  /** Extra labels a namespace must carry to be reviewed (empty: every namespace but the excluded ones). */
  namespaceLabels?: Record<string, string>;
  timeoutSeconds?: number;
  failurePolicy?: 'Fail' | 'Ignore';
}

/**
 * CEL for matchConditions, mirroring the compiler's class selection: an Ingress naming a class is
 * sent only if the class is one of Sluice's; one without a class only if its legacy annotation is
 * Sluice's or absent (the default class may be Sluice's, which CEL cannot look up).
 */
export function ingressClassCondition(classNames: readonly string[]): string {
  const list = `[${classNames.map((c) => JSON.stringify(checkName('class name', c))).join(', ')}]`;
  const ann = '"kubernetes.io/ingress.class"';
  return (
    `has(object.spec.ingressClassName) && object.spec.ingressClassName != "" ` +
    `? object.spec.ingressClassName in ${list} ` +
    `: (has(object.metadata.annotations) && ${ann} in object.metadata.annotations ` +
    `? object.metadata.annotations[${ann}] in ${list} : true)`
  );
}

export function webhookConfiguration(
  opts: WebhookConfigurationOptions = {},
): V1ValidatingWebhookConfiguration {
  const namespace = checkName('namespace', opts.namespace ?? DEFAULTS.namespace);
  const classNames = opts.classNames ?? [DEFAULT_CLASS_NAME];
  const service = {
    name: opts.service?.name ?? DEFAULTS.serviceName,
    namespace: opts.service?.namespace ?? namespace,
    port: opts.service?.port ?? 443,
  };
  const clientConfig = (path: string) => {
    const base = opts.url
      ? { url: `${opts.url.replace(/\/+$/, '')}${path}` }
      : { service: { name: service.name, namespace: service.namespace, path, port: service.port } };
    return opts.caBundle ? { ...base, caBundle: Buffer.from(opts.caBundle).toString('base64') } : base;
  };
  const namespaceSelector = {
    ...(opts.namespaceLabels && Object.keys(opts.namespaceLabels).length > 0
      ? { matchLabels: { ...opts.namespaceLabels } }
      : {}),
    matchExpressions: [
      {
        key: 'kubernetes.io/metadata.name',
        operator: 'NotIn',
        values: [...new Set(['kube-system', namespace])],
      },
    ],
  };
  const common = {
    admissionReviewVersions: ['v1'],
    sideEffects: 'None',
    timeoutSeconds: opts.timeoutSeconds ?? 5,
    failurePolicy: opts.failurePolicy ?? 'Fail',
    matchPolicy: 'Equivalent',
    namespaceSelector,
  };
  const annotations = opts.certManagerCertificate
    ? {
        'cert-manager.io/inject-ca-from': `${namespace}/${checkName('Certificate name', opts.certManagerCertificate)}`,
      }
    : undefined;
  return {
    apiVersion: 'admissionregistration.k8s.io/v1',
    kind: 'ValidatingWebhookConfiguration',
    metadata: {
      name: opts.name ?? DEFAULTS.webhookConfigurationName,
      labels: { 'app.kubernetes.io/name': 'sluice', 'app.kubernetes.io/component': 'webhook' },
      ...(annotations ? { annotations } : {}),
    },
    webhooks: [
      {
        name: WEBHOOK_NAMES.ingress,
        clientConfig: clientConfig(PATHS.ingress),
        rules: [
          {
            apiGroups: ['networking.k8s.io'],
            apiVersions: ['v1'],
            resources: ['ingresses'],
            operations: ['CREATE', 'UPDATE'],
            scope: 'Namespaced',
          },
        ],
        matchConditions: [{ name: 'sluice-ingress-class', expression: ingressClassCondition(classNames) }],
        ...common,
      },
      {
        name: WEBHOOK_NAMES.routeRatio,
        clientConfig: clientConfig(PATHS.routeRatio),
        rules: [
          {
            apiGroups: [RR_GROUP],
            apiVersions: [RR_VERSION],
            resources: ['routeratios'],
            operations: ['CREATE', 'UPDATE'],
            scope: 'Namespaced',
          },
        ],
        ...common,
      },
    ],
  };
}

export interface CertManagerOptions {
  namespace?: string;
  serviceName?: string;
  /** The serving Certificate and the Secret it writes (mounted by the webhook pod); also the name for `inject-ca-from`. */
  servingSecretName?: string;
  caDuration?: string;
  caRenewBefore?: string;
  servingDuration?: string;
  servingRenewBefore?: string;
}

/**
 * A self-signed Issuer bootstraps a CA Certificate; a CA Issuer made from it signs the serving
 * Certificate. The webhook configuration names the serving Certificate in
 * `cert-manager.io/inject-ca-from`, and cert-manager's cainjector fills in its CA.
 */
export function certManagerObjects(
  opts: CertManagerOptions = {},
): [IIssuer, ICertificate, IIssuer, ICertificate] {
  const namespace = checkName('namespace', opts.namespace ?? DEFAULTS.namespace);
  const serviceName = checkName('service name', opts.serviceName ?? DEFAULTS.serviceName);
  const labels = { 'app.kubernetes.io/name': 'sluice', 'app.kubernetes.io/component': 'webhook' };
  const selfSigned = `${serviceName}-selfsigned`;
  const caName = `${serviceName}-ca`;
  const servingName = checkName('Secret name', opts.servingSecretName ?? DEFAULTS.servingCertificateName);
  const privateKey = { algorithm: 'ECDSA' as const, size: 256, rotationPolicy: 'Always' as const };
  return [
    {
      apiVersion: 'cert-manager.io/v1',
      kind: 'Issuer',
      metadata: { name: selfSigned, namespace, labels },
      spec: { selfSigned: {} },
    },
    {
      apiVersion: 'cert-manager.io/v1',
      kind: 'Certificate',
      metadata: { name: caName, namespace, labels },
      spec: {
        isCA: true,
        commonName: `${serviceName}-ca`,
        secretName: caName,
        duration: opts.caDuration ?? '87600h',
        renewBefore: opts.caRenewBefore ?? '720h',
        privateKey,
        issuerRef: { group: 'cert-manager.io', kind: 'Issuer', name: selfSigned },
      },
    },
    {
      apiVersion: 'cert-manager.io/v1',
      kind: 'Issuer',
      metadata: { name: caName, namespace, labels },
      spec: { ca: { secretName: caName } },
    },
    {
      apiVersion: 'cert-manager.io/v1',
      kind: 'Certificate',
      metadata: { name: servingName, namespace, labels },
      spec: {
        secretName: servingName,
        commonName: `${serviceName}.${namespace}.svc`,
        dnsNames: serviceDnsNames(serviceName, namespace),
        duration: opts.servingDuration ?? '2160h',
        renewBefore: opts.servingRenewBefore ?? '720h',
        usages: ['server auth', 'digital signature', 'key encipherment'],
        privateKey,
        issuerRef: { group: 'cert-manager.io', kind: 'Issuer', name: caName },
      },
    },
  ];
}

export interface RbacOptions {
  namespace?: string;
  /** Self-managed certificates: the Secret it keeps them in and the configuration it patches. */
  selfManaged?: boolean;
  /** Allow creating the Secret; not needed when the installer creates it empty (as the chart does). */
  createSecret?: boolean;
  certSecretName?: string;
  webhookConfigurationName?: string;
  name?: string;
}

/** Read access to what claims depend on; with self-managed certificates, its own Secret and configuration only. */
export function webhookRbac(opts: RbacOptions = {}): { clusterRole: V1ClusterRole; role?: V1Role } {
  const name = opts.name ?? 'sluice-webhook';
  const read = ['get', 'list', 'watch'];
  const clusterRole: V1ClusterRole = {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'ClusterRole',
    metadata: { name },
    rules: [
      { apiGroups: ['networking.k8s.io'], resources: ['ingresses', 'ingressclasses'], verbs: read },
      { apiGroups: [RR_GROUP], resources: ['routeratios'], verbs: read },
      { apiGroups: [''], resources: ['services'], verbs: ['list', 'watch'] },
      // A terminating namespace's Ingresses and RouteRatios hold no claims.
      { apiGroups: [''], resources: ['namespaces'], verbs: read },
    ],
  };
  if (!opts.selfManaged) return { clusterRole };
  clusterRole.rules!.push({
    apiGroups: ['admissionregistration.k8s.io'],
    resources: ['validatingwebhookconfigurations'],
    resourceNames: [opts.webhookConfigurationName ?? DEFAULTS.webhookConfigurationName],
    verbs: ['get', 'update'],
  });
  const role: V1Role = {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'Role',
    metadata: { name, namespace: opts.namespace ?? DEFAULTS.namespace },
    rules: [
      {
        apiGroups: [''],
        resources: ['secrets'],
        resourceNames: [opts.certSecretName ?? DEFAULTS.certSecretName],
        verbs: ['get', 'update'],
      },
    ],
  };
  // `create` cannot be limited by name, hence off unless asked for.
  if (opts.createSecret) role.rules!.push({ apiGroups: [''], resources: ['secrets'], verbs: ['create'] });
  return { clusterRole, role };
}
