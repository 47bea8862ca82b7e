// Validates a compiled config: the JSON Schema first (compiled once), then the cross-references
// the schema cannot express (keys that must exist, order and uniqueness the data plane relies on,
// the content hash). Both the operator (before pushing) and the data plane (on receipt) call this.

import { Ajv2020, type ErrorObject } from 'ajv/dist/2020.js';
import { configVersion } from './canonical.ts';
import { configSchema } from './schema.ts';
import type { DataplaneConfig, Split, VirtualHost } from './types.ts';

export type ValidationResult = { ok: true; config: DataplaneConfig } | { ok: false; errors: string[] };

export interface ValidateOptions {
  /** Recompute the content hash and compare it with `version`. Default true. */
  checkVersion?: boolean;
}

const MAX_ERRORS = 10;

// allErrors stays off: a hostile config cannot make validation do unbounded work on errors.
const ajv = new Ajv2020({
  allErrors: false,
  strict: true,
  strictTypes: false,
  strictRequired: false,
  unicodeRegExp: true,
});
const schemaCheck = ajv.compile<DataplaneConfig>(configSchema);

export function validateConfig(value: unknown, options: ValidateOptions = {}): ValidationResult {
  if (!schemaCheck(value)) {
    const errors = (schemaCheck.errors ?? []).slice(0, MAX_ERRORS).map(describe);
    return { ok: false, errors: errors.length > 0 ? errors : ['config: does not match the schema'] };
  }
  const errors = crossCheck(value);
  if (errors.length === 0 && options.checkVersion !== false) {
    const expected = configVersion(value);
    if (value.version !== expected) errors.push(`version: does not match the content hash (${expected})`);
  }
  return errors.length > 0 ? { ok: false, errors: errors.slice(0, MAX_ERRORS) } : { ok: true, config: value };
}

/** `/virtualHosts/0/routes/1/path` -> `virtualHosts[0].routes[1].path` */
export function readablePath(instancePath: string): string {
  if (instancePath === '') return 'config';
  let out = '';
  for (const raw of instancePath.slice(1).split('/')) {
    const part = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    if (/^[0-9]+$/.test(part)) out += `[${part}]`;
    else if (/^[A-Za-z_][A-Za-z0-9_]*$/.test(part)) out += out === '' ? part : `.${part}`;
    else out += `[${JSON.stringify(part)}]`;
  }
  return out;
}

function describe(error: ErrorObject): string {
  const where = readablePath(error.instancePath);
  const params = error.params as Record<string, unknown>;
  switch (error.keyword) {
    case 'additionalProperties':
      return `${where}: unknown property ${JSON.stringify(params.additionalProperty)}`;
    case 'propertyNames':
      return `${where}: key ${JSON.stringify(params.propertyName)} is not allowed`;
    case 'pattern':
      return `${where}: has characters or a shape that is not allowed`;
    case 'required':
      return `${where}: missing property ${JSON.stringify(params.missingProperty)}`;
    default:
      return `${where}: ${error.message ?? 'is invalid'}`;
  }
}

function crossCheck(config: DataplaneConfig): string[] {
  const errors: string[] = [];
  const add = (message: string) => {
    if (errors.length < MAX_ERRORS) errors.push(message);
  };
  const hasBackend = (key: string) => Object.hasOwn(config.backends, key);
  const hasCertificate = (key: string) => Object.hasOwn(config.certificates, key);

  const checkSplit = (where: string, split: Split) => {
    const keys = new Set<string>();
    split.backends.forEach((b, i) => {
      if (!hasBackend(b.backend))
        add(`${where}.backends[${i}].backend: no backend ${JSON.stringify(b.backend)}`);
      keys.add(b.backend);
    });
    split.overrides.forEach((o, i) => {
      if (!keys.has(o.backend)) {
        add(
          `${where}.overrides[${i}].backend: ${JSON.stringify(o.backend)} is not one of the split's backends`,
        );
      }
    });
  };

  const rank = (v: VirtualHost) => (v.kind === 'exact' ? 0 : v.kind === 'wildcard' ? 1 : 2);
  config.virtualHosts.forEach((vhost, i) => {
    const where = `virtualHosts[${i}]`;
    if (i > 0) {
      const prev = config.virtualHosts[i - 1];
      const order =
        rank(prev) - rank(vhost) || (prev.host < vhost.host ? -1 : prev.host > vhost.host ? 1 : 0);
      if (order >= 0) add(`${where}.host: hosts must be unique and sorted (exact, wildcard, any)`);
    }
    if (vhost.tls && !hasCertificate(vhost.tls.certificate)) {
      add(`${where}.tls.certificate: no certificate ${JSON.stringify(vhost.tls.certificate)}`);
    }
    vhost.routes.forEach((route, j) => {
      if (j > 0 && compareRoutes(vhost.routes[j - 1], route) >= 0) {
        add(
          `${where}.routes[${j}]: routes must be unique and sorted (longest path first, Exact before Prefix)`,
        );
      }
      checkSplit(`${where}.routes[${j}].split`, route.split);
    });
  });
  if (config.defaultRoute) checkSplit('defaultRoute.split', config.defaultRoute.split);
  if (config.defaultCertificate !== undefined && !hasCertificate(config.defaultCertificate)) {
    add(`defaultCertificate: no certificate ${JSON.stringify(config.defaultCertificate)}`);
  }
  return errors;
}

/**
 * Route order the data plane relies on: longer paths first; at equal length Exact before Prefix;
 * then by path. Negative when `a` comes first.
 */
export function compareRoutes(
  a: { path: string; pathType: 'Exact' | 'Prefix' },
  b: { path: string; pathType: 'Exact' | 'Prefix' },
): number {
  if (a.path.length !== b.path.length) return b.path.length - a.path.length;
  if (a.pathType !== b.pathType) return a.pathType === 'Exact' ? -1 : 1;
  return a.path < b.path ? -1 : a.path > b.path ? 1 : 0;
}
