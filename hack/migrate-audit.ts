// The migration audit: what Sluice would make of each ingress-nginx annotation of a set of
// Ingresses, read from manifests or from a cluster. Documented in docs/migrate-from-ingress-nginx.md.
//
//   npm run migrate:audit -- --dir manifests/        every *.yaml / *.yml / *.json below it
//   npm run migrate:audit -- --file a.yaml --file b.yaml
//   npm run migrate:audit                            the cluster of the current kubeconfig context,
//                                                    all namespaces (or -n NAMESPACE)
//   --json                  machine-readable output
//   --snippets=refuse|warn  the snippet policy Sluice will run with (default refuse)
//
// Exit 0 when every annotation is served (or ignored), 1 when any is refused, not served or
// unknown, 2 on a usage or read error.

import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { KubeConfig, NetworkingV1Api } from '@kubernetes/client-node';
import { parseAllDocuments } from 'yaml';
import {
  type Answer,
  type AnswerStatus,
  auditAnnotations,
  isShortfall,
} from '../operator/compile/ingress/nginx/answers.ts';
import { NGINX_PREFIX } from '../operator/compile/ingress/nginx/group.ts';
import type { SnippetPolicy } from '../operator/compile/ingress/nginx/registry.ts';

export interface AuditOptions {
  dirs: string[];
  files: string[];
  namespace?: string;
  json: boolean;
  snippets: SnippetPolicy;
}

export interface IngressAudit {
  namespace: string;
  name: string;
  /** Where it was read from: a file path, or `cluster`. */
  source: string;
  annotations: Answer[];
}

export interface AuditReport {
  ingresses: IngressAudit[];
  totals: Record<AnswerStatus, number>;
  /** Whether anything is refused, not served or unknown. */
  shortfall: boolean;
}

export class UsageError extends Error {}

/** Where the report and errors go (process.stdout / stderr). */
export interface Output {
  write(text: string): unknown;
}

const USAGE =
  'usage: npm run migrate:audit -- [--dir DIR]... [--file FILE]... [-n NAMESPACE | --all-namespaces] ' +
  '[--json] [--snippets=refuse|warn]';

const MAX_FILES = 10_000;
const MAX_FILE_BYTES = 16 * 1024 * 1024;

export function parseArgs(argv: readonly string[]): AuditOptions {
  const o: AuditOptions = { dirs: [], files: [], json: false, snippets: 'refuse' };
  let allNamespaces = false;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const eq = arg.indexOf('=');
    const flag = arg.startsWith('--') && eq > 0 ? arg.slice(0, eq) : arg;
    const inline = arg.startsWith('--') && eq > 0 ? arg.slice(eq + 1) : undefined;
    const value = (): string => {
      const v = inline ?? argv[++i];
      if (v === undefined || v === '') throw new UsageError(`${flag} needs a value\n${USAGE}`);
      return v;
    };
    switch (flag) {
      case '--dir':
        o.dirs.push(value());
        break;
      case '--file':
      case '-f':
        o.files.push(value());
        break;
      case '-n':
      case '--namespace':
        o.namespace = value();
        break;
      case '-A':
      case '--all-namespaces':
        allNamespaces = true;
        break;
      case '--json':
        o.json = true;
        break;
      case '--snippets': {
        const v = value();
        if (v !== 'refuse' && v !== 'warn')
          throw new UsageError(`--snippets must be refuse or warn\n${USAGE}`);
        o.snippets = v;
        break;
      }
      case '-h':
      case '--help':
        throw new UsageError(USAGE);
      default:
        throw new UsageError(`unknown argument ${JSON.stringify(arg.slice(0, 80))}\n${USAGE}`);
    }
  }
  if (allNamespaces && o.namespace !== undefined) {
    throw new UsageError(`give -n or --all-namespaces, not both\n${USAGE}`);
  }
  if ((o.dirs.length > 0 || o.files.length > 0) && o.namespace !== undefined) {
    throw new UsageError(`-n reads a cluster; with --dir or --file every Ingress read is audited\n${USAGE}`);
  }
  return o;
}

function manifestFiles(dir: string, out: string[]): void {
  for (const entry of readdirSync(dir, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1))) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) manifestFiles(path, out);
    else if (entry.isFile() && /\.(ya?ml|json)$/i.test(entry.name)) out.push(path);
    if (out.length > MAX_FILES) throw new UsageError(`more than ${MAX_FILES} manifest files under ${dir}`);
  }
}

interface RawIngress {
  metadata?: { name?: unknown; namespace?: unknown; annotations?: unknown };
}

/** Ingresses in one manifest: multi-document YAML (JSON is YAML), `kind: List` items included. */
export function ingressesInText(
  text: string,
  source: string,
): Array<{ ingress: RawIngress; source: string }> {
  const out: Array<{ ingress: RawIngress; source: string }> = [];
  const visit = (obj: unknown) => {
    if (obj === null || typeof obj !== 'object') return;
    const o = obj as { kind?: unknown; items?: unknown };
    if (typeof o.kind === 'string' && o.kind.endsWith('List') && Array.isArray(o.items)) {
      for (const item of o.items) visit(item);
    } else if (o.kind === 'Ingress') out.push({ ingress: o as RawIngress, source });
  };
  for (const doc of parseAllDocuments(text)) {
    if ('errors' in doc && doc.errors.length > 0) {
      throw new UsageError(`${source}: not YAML: ${doc.errors[0].message.split('\n')[0]}`);
    }
    visit(doc.toJS({ maxAliasCount: 100 }));
  }
  return out;
}

function stringAnnotations(raw: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  if (raw === null || typeof raw !== 'object') return out;
  for (const [k, v] of Object.entries(raw)) if (typeof v === 'string') out[k] = v;
  return out;
}

function emptyTotals(): Record<AnswerStatus, number> {
  return { served: 0, differs: 0, refused: 0, ignored: 0, 'not-served': 0, unknown: 0 };
}

export function auditIngresses(
  list: ReadonlyArray<{ ingress: RawIngress; source: string }>,
  snippets: SnippetPolicy,
): AuditReport {
  const ingresses: IngressAudit[] = [];
  const totals = emptyTotals();
  for (const { ingress, source } of list) {
    const annotations = stringAnnotations(ingress.metadata?.annotations);
    const answers = auditAnnotations(annotations, snippets);
    for (const a of answers) totals[a.status]++;
    ingresses.push({
      namespace: typeof ingress.metadata?.namespace === 'string' ? ingress.metadata.namespace : 'default',
      name: typeof ingress.metadata?.name === 'string' ? ingress.metadata.name : '(no name)',
      source,
      annotations: answers,
    });
  }
  ingresses.sort((a, b) =>
    a.namespace !== b.namespace
      ? a.namespace < b.namespace
        ? -1
        : 1
      : a.name < b.name
        ? -1
        : a.name > b.name
          ? 1
          : 0,
  );
  const shortfall = (Object.keys(totals) as AnswerStatus[]).some((s) => isShortfall(s) && totals[s] > 0);
  return { ingresses, totals, shortfall };
}

const LABEL: Record<AnswerStatus, string> = {
  served: 'served',
  differs: 'served, differs',
  refused: 'REFUSED',
  ignored: 'ignored',
  'not-served': 'NOT SERVED',
  unknown: 'UNKNOWN',
};

/** User text reaches the terminal only as printable characters. */
function printable(text: string): string {
  let out = '';
  for (const c of text) {
    const code = c.codePointAt(0)!;
    out += code < 0x20 || (code >= 0x7f && code <= 0x9f) || code === 0x2028 || code === 0x2029 ? '?' : c;
  }
  return out;
}

export function formatText(report: AuditReport): string {
  const lines: string[] = [];
  for (const ing of report.ingresses) {
    if (ing.annotations.length === 0) continue;
    lines.push(`Ingress ${printable(ing.namespace)}/${printable(ing.name)} (${printable(ing.source)})`);
    for (const a of ing.annotations) {
      const why = a.reason ? `: ${printable(a.reason)}` : '';
      lines.push(`  ${LABEL[a.status].padEnd(16)} ${NGINX_PREFIX}${printable(a.name)}${why}`);
    }
  }
  const t = report.totals;
  const withNginx = report.ingresses.filter((i) => i.annotations.length > 0).length;
  lines.push(
    '',
    `${report.ingresses.length} Ingresses, ${withNginx} with ingress-nginx annotations: ${t.served} served, ` +
      `${t.differs} served with a difference, ${t.ignored} ignored, ${t.refused} refused, ` +
      `${t['not-served']} not served, ${t.unknown} unknown`,
  );
  return `${lines.join('\n')}\n`;
}

async function fromCluster(
  namespace: string | undefined,
): Promise<Array<{ ingress: RawIngress; source: string }>> {
  const kc = new KubeConfig();
  kc.loadFromDefault();
  const api = kc.makeApiClient(NetworkingV1Api);
  const list =
    namespace === undefined
      ? await api.listIngressForAllNamespaces()
      : await api.listNamespacedIngress({ namespace });
  return list.items.map((ingress) => ({ ingress: ingress as RawIngress, source: 'cluster' }));
}

/** Runs the audit; returns the exit code. */
export async function main(
  argv: readonly string[],
  out: Output = process.stdout,
  err: Output = process.stderr,
): Promise<number> {
  try {
    const o = parseArgs(argv);
    const files = [...o.files];
    for (const dir of o.dirs) manifestFiles(dir, files);
    let list: Array<{ ingress: RawIngress; source: string }> = [];
    if (o.dirs.length > 0 || o.files.length > 0) {
      for (const file of files) {
        if (statSync(file).size > MAX_FILE_BYTES) throw new UsageError(`${file}: larger than 16 MiB`);
        list.push(...ingressesInText(readFileSync(file, 'utf8'), file));
      }
    } else list = await fromCluster(o.namespace);
    const report = auditIngresses(list, o.snippets);
    out.write(o.json ? `${JSON.stringify(report, null, 2)}\n` : formatText(report));
    return report.shortfall ? 1 : 0;
  } catch (e) {
    err.write(`${e instanceof Error ? e.message : String(e)}\n`);
    return 2;
  }
}

if (import.meta.main) process.exitCode = await main(process.argv.slice(2));
