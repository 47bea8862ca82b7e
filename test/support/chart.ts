// Helpers for the chart tests: the pinned helm (built by hack/helm.sh on first use), rendering the
// chart with given values, and cert-manager CRDs made from the cert-manager models.
import { execFileSync } from 'node:child_process';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  Certificate,
  CertificateRequest,
  ClusterIssuer,
  Issuer,
} from '@kubernetes-models/cert-manager/cert-manager.io/v1';
import { parseAllDocuments, stringify } from 'yaml';
import { type RunResult, run } from './run.ts';

export const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
export const chartDir = join(root, 'charts/sluice');

/** A rendered Kubernetes object; tests read fields loosely and assert on them. */
export interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: {
    name: string;
    namespace?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    deletionTimestamp?: string;
  };
  // biome-ignore lint/suspicious/noExplicitAny: rendered manifests are checked field by field
  [field: string]: any;
}

let helmPath: string | undefined;

/** The pinned helm binary, built from the Go module proxy the first time. */
export function helmBinary(): string {
  helmPath ??= execFileSync('bash', [join(root, 'hack/helm.sh')], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
  }).trim();
  return helmPath;
}

/** Runs helm; `values` (if given) are passed as a values file on stdin. */
export function helm(args: string[], values?: object): Promise<RunResult> {
  const withValues = values ? [...args, '--values', '-'] : args;
  return run(helmBinary(), withValues, { cwd: root, input: values ? JSON.stringify(values) : '' });
}

export function parseManifests(text: string): K8sObject[] {
  return parseAllDocuments(text)
    .map((d) => d.toJS() as K8sObject | null)
    .filter((o): o is K8sObject => o !== null && typeof o === 'object' && typeof o.kind === 'string');
}

export interface RenderOptions {
  release?: string;
  namespace?: string;
  includeCrds?: boolean;
}

/** `helm template` with the given values; throws with helm's message when rendering fails. */
export async function renderText(values: object = {}, opts: RenderOptions = {}): Promise<string> {
  const args = [
    'template',
    opts.release ?? 'rel',
    chartDir,
    '--namespace',
    opts.namespace ?? 'sluice-system',
  ];
  if (opts.includeCrds) args.push('--include-crds');
  const r = await helm(args, values);
  if (r.code !== 0) throw new Error(`helm template failed: ${r.stderr.trim()}`);
  return r.stdout;
}

export async function render(values: object = {}, opts: RenderOptions = {}): Promise<K8sObject[]> {
  return parseManifests(await renderText(values, opts));
}

export function find(objs: K8sObject[], kind: string, name?: string): K8sObject {
  const hit = objs.find((o) => o.kind === kind && (name === undefined || o.metadata.name === name));
  if (!hit) throw new Error(`no ${kind}${name ? ` ${name}` : ''} rendered`);
  return hit;
}

export function all(objs: K8sObject[], kind: string): K8sObject[] {
  return objs.filter((o) => o.kind === kind);
}

/** The cert-manager kinds the chart uses, with the models that validate them. */
export const certManagerModels = { Certificate, CertificateRequest, ClusterIssuer, Issuer } as const;

/**
 * CustomResourceDefinitions for cert-manager.io/v1 built from the cert-manager models (their
 * group, version and kinds). No CRD file ships with the models and their schemas are compiled
 * validators, so the served schema preserves unknown fields and the objects themselves are checked
 * against the models' schemas (`new Certificate(obj).validate()`) before they are applied.
 */
export function certManagerCrds(): K8sObject[] {
  const scoped: Array<[{ apiVersion: string; kind: string }, 'Namespaced' | 'Cluster']> = [
    [Certificate, 'Namespaced'],
    [CertificateRequest, 'Namespaced'],
    [Issuer, 'Namespaced'],
    [ClusterIssuer, 'Cluster'],
  ];
  return scoped.map(([model, scope]) => {
    const [group, version] = model.apiVersion.split('/');
    const plural = `${model.kind.toLowerCase()}s`;
    return {
      apiVersion: 'apiextensions.k8s.io/v1',
      kind: 'CustomResourceDefinition',
      metadata: { name: `${plural}.${group}`, labels: { 'sluice.dev/test': 'cert-manager-crds' } },
      spec: {
        group,
        scope,
        names: {
          kind: model.kind,
          listKind: `${model.kind}List`,
          plural,
          singular: model.kind.toLowerCase(),
        },
        versions: [
          {
            name: version,
            served: true,
            storage: true,
            subresources: { status: {} },
            schema: { openAPIV3Schema: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true } },
          },
        ],
      },
    };
  });
}

/** Throws with the model's message when a rendered cert-manager object breaks cert-manager's schema. */
export function validateCertManagerObject(obj: K8sObject): void {
  const Model = certManagerModels[obj.kind as keyof typeof certManagerModels] as
    | (new (
        data: object,
      ) => { validate(): void })
    | undefined;
  if (!Model || obj.apiVersion !== 'cert-manager.io/v1')
    throw new Error(`not a cert-manager model: ${obj.apiVersion} ${obj.kind}`);
  new Model(obj).validate();
}

/** A multi-document YAML stream (kubectl reads a stream that starts with JSON as JSON only). */
export function toYamlStream(objs: object[]): string {
  return objs.map((o) => stringify(o)).join('---\n');
}
