// Validates a compiled config: the JSON Schema first (compiled once), then the cross-references
// the schema cannot express (keys that must exist, order and uniqueness the data plane relies on,
// the content hash). Both the operator (before pushing) and the data plane (on receipt) call this:
// `validateConfig` for a one-off check, a long-lived `ConfigValidator` for a stream of configs
// that share most of their pieces (and for patches).

import { Ajv2020, type ErrorObject, type ValidateFunction } from 'ajv/dist/2020.js';
import { configVersion } from './canonical.ts';
import { ConfigText } from './config-text.ts';
import { type FormatName, formats } from './formats.ts';
import { compareHosts, compareRoutes, hostKind, hostSortKey } from './order.ts';
import { applyPatch, type ConfigPatch } from './patch.ts';
import {
  configFrameSchema,
  configSchema,
  keySchemas,
  limits,
  patchSchema,
  pieceSchemaRef,
} from './schema.ts';
import type { Backend, Certificate, DataplaneConfig, DefaultRoute, Split, VirtualHost } from './types.ts';

export type ValidationResult = { ok: true; config: DataplaneConfig } | { ok: false; errors: string[] };

export interface ValidateOptions {
  /** Recompute the content hash and compare it with `version`. Default true. */
  checkVersion?: boolean;
}

const MAX_ERRORS = 10;

// The expected hash is not echoed: the sender computes it from the same canonical text.
const VERSION_MISMATCH = 'version: does not match the content hash';

// allErrors stays off: a hostile config cannot make validation do unbounded work on errors.
const ajv = new Ajv2020({
  allErrors: false,
  strict: true,
  strictTypes: false,
  strictRequired: false,
  unicodeRegExp: true,
});
for (const [name, format] of Object.entries(formats))
  ajv.addFormat(name, { type: 'string', validate: format.validate });
let configAdded = false;

/** A schema of `configSchema` by reference (its $defs are shared by the frame and patch schemas). */
const configCheck = (ref: string): ValidateFunction => {
  if (!configAdded) {
    ajv.addSchema(configSchema);
    configAdded = true;
  }
  const check = ajv.getSchema(ref);
  if (check === undefined) throw new Error(`no schema ${ref}`);
  return check;
};

/** A schema that refers to `configSchema`'s $defs. */
const compileWithConfig = <T>(schema: object): ValidateFunction<T> => {
  configCheck(configSchema.$id);
  return ajv.compile<T>(schema);
};

/**
 * The compiled checks, each compiled on first use: ajv's generated code for one schema costs
 * megabytes of memory, and the operator never needs the whole-config and patch checks while all
 * is well.
 */
const checks = lazily({
  schema: () => configCheck(configSchema.$id) as ValidateFunction<DataplaneConfig>,
  frame: () => compileWithConfig<DataplaneConfig>(configFrameSchema),
  patch: () => compileWithConfig<ConfigPatch>(patchSchema),
  virtualHost: () => configCheck(pieceSchemaRef.virtualHost),
  backend: () => configCheck(pieceSchemaRef.backend),
  certificate: () => configCheck(pieceSchemaRef.certificate),
  defaultRoute: () => configCheck(pieceSchemaRef.defaultRoute),
  backendKey: () => ajv.compile(keySchemas.backend),
  certificateKey: () => ajv.compile(keySchemas.certificate),
});

function lazily<T extends Record<string, () => unknown>>(makers: T): { [K in keyof T]: ReturnType<T[K]> } {
  const out = {} as { [K in keyof T]: ReturnType<T[K]> };
  for (const key of Object.keys(makers) as Array<keyof T>) {
    Object.defineProperty(out, key, {
      configurable: true,
      get() {
        const value = makers[key]();
        Object.defineProperty(out, key, { value });
        return value;
      },
    });
  }
  return out;
}

export function validateConfig(value: unknown, options: ValidateOptions = {}): ValidationResult {
  if (!checks.schema(value)) return schemaErrors(checks.schema, 'config');
  const errors = crossCheck(value);
  if (errors.length === 0 && options.checkVersion !== false) {
    const expected = configVersion(value);
    if (value.version !== expected) errors.push(VERSION_MISMATCH);
  }
  return errors.length > 0 ? { ok: false, errors: errors.slice(0, MAX_ERRORS) } : { ok: true, config: value };
}

function schemaErrors(check: ValidateFunction, what: string): { ok: false; errors: string[] } {
  const errors = (check.errors ?? []).slice(0, MAX_ERRORS).map(describe);
  return { ok: false, errors: errors.length > 0 ? errors : [`${what}: does not match the schema`] };
}

/** What a virtual host refers to outside itself, kept once its own checks passed. */
interface HostRefs {
  backends: string[];
  certificate: string | undefined;
}

/** A config this validator accepted: its record sizes and, when its hash was checked, its text. */
interface Accepted {
  backends: number;
  certificates: number;
  text: ConfigText | undefined;
  /** How many hosts refer to each key: made by the first patch, handed on to the next config. */
  users?: Users;
}

interface Users {
  backends: Map<string, number>;
  certificates: Map<string, number>;
}

/**
 * Validates a stream of configs that share most of their pieces, as the operator's compiler and a
 * patched data plane produce them. The result equals validateConfig's (same errors), but a virtual
 * host, backend, certificate or default route object this instance has validated before is not
 * checked against the schema again (nor a record key it was validated under), and a virtual
 * host's own route checks are not redone: only the frame (apiVersion, version, counts), host
 * order and references across pieces are checked every time. A patch costs what it changes (see
 * `patch`). Pieces and configs must not be mutated once validated (both sides treat them as
 * frozen).
 */
export class ConfigValidator {
  // One map per piece kind (an object valid as one kind says nothing about another); records map
  // a piece to the key it was validated under.
  readonly #virtualHosts = new WeakSet<VirtualHost>();
  readonly #backends = new WeakMap<Backend, string>();
  readonly #certificates = new WeakMap<Certificate, string>();
  readonly #defaultRoutes = new WeakSet<DefaultRoute>();
  readonly #hostRefs = new WeakMap<VirtualHost, HostRefs>();
  readonly #accepted = new WeakMap<DataplaneConfig, Accepted>();
  /** The config accepted last: the next one often shares its host list or records. */
  #last: { config: DataplaneConfig; backends: number; certificates: number } | undefined;

  /** Same result as validateConfig(value, options). */
  config(value: unknown, options: ValidateOptions = {}): ValidationResult {
    const checkVersion = options.checkVersion !== false;
    const seen =
      typeof value === 'object' && value !== null ? this.#accepted.get(value as DataplaneConfig) : undefined;
    if (seen !== undefined && (!checkVersion || seen.text !== undefined)) {
      return { ok: true, config: value as DataplaneConfig };
    }
    // Any failure is described by the one-off validation, so the errors are exactly its errors;
    // the fast paths only ever decide that a config is valid.
    const sizes = this.#schemaValid(value);
    if (sizes === undefined) return validateConfig(value, options);
    const config = value as DataplaneConfig;
    if (!this.#referencesValid(config)) {
      const errors = crossCheck(config);
      if (errors.length > 0) return { ok: false, errors: errors.slice(0, MAX_ERRORS) };
    }
    let text: ConfigText | undefined;
    if (checkVersion) {
      text = ConfigText.of(config);
      if (config.version !== text.version) {
        return { ok: false, errors: [VERSION_MISMATCH] };
      }
    }
    this.#accepted.set(config, { ...sizes, text });
    this.#last = { config, ...sizes };
    return { ok: true, config };
  }

  /**
   * The config `patch` (a ConfigPatch from the wire) yields from `base`, or why it cannot be
   * applied: the patch's schema (its pieces against the config's `$defs`, its keys against the
   * config's key patterns), its base version, the result's sizes and references, and the result's
   * content hash against the patch's `version`. Unchanged pieces of the result are `base`'s own
   * objects. When this validator accepted `base` (with its hash), the checks and the hash cost
   * what the patch changes (hashing runs from the first changed byte on); otherwise the result is
   * validated like any config.
   */
  patch(base: DataplaneConfig, value: unknown): ValidationResult {
    if (!checks.patch(value)) return schemaErrors(checks.patch, 'patch');
    const patch = value;
    if (patch.base !== base.version) {
      return { ok: false, errors: [`base: ${patch.base} is not the version patched (${base.version})`] };
    }
    const names = new Set<string>();
    for (const [i, vh] of patch.virtualHosts.set.entries()) {
      if (names.has(vh.host)) return { ok: false, errors: [`virtualHosts.set[${i}].host: set twice`] };
      names.add(vh.host);
    }
    // The patch's schema covered its pieces and keys.
    for (const vh of patch.virtualHosts.set) this.#virtualHosts.add(vh);
    for (const key of Object.keys(patch.backends.set)) this.#backends.set(patch.backends.set[key], key);
    for (const key of Object.keys(patch.certificates.set)) {
      this.#certificates.set(patch.certificates.set[key], key);
    }
    if (patch.defaultRoute) this.#defaultRoutes.add(patch.defaultRoute);
    const result = applyPatch(base, patch);
    const accepted = this.#accepted.get(base);
    if (accepted?.text === undefined) return this.config(result);

    const sizes = {
      backends: accepted.backends + sizeChange(base.backends, patch.backends),
      certificates: accepted.certificates + sizeChange(base.certificates, patch.certificates),
    };
    const errors: string[] = [];
    if (result.virtualHosts.length > limits.virtualHosts)
      errors.push(`virtualHosts: must NOT have more than ${limits.virtualHosts} items`);
    if (sizes.backends > limits.backends)
      errors.push(`backends: must NOT have more than ${limits.backends} properties`);
    if (sizes.certificates > limits.certificates)
      errors.push(`certificates: must NOT have more than ${limits.certificates} properties`);
    if (errors.length > 0) return { ok: false, errors };
    const users = accepted.users ?? this.#users(base);
    const change = this.#usersChange(base, patch);
    if (!this.#patchReferencesValid(base, patch, result, users, change)) {
      const found = crossCheck(result);
      if (found.length > 0) return { ok: false, errors: found.slice(0, MAX_ERRORS) };
    }
    const text = accepted.text.patch(patch, result);
    if (text.version !== result.version) {
      return { ok: false, errors: [VERSION_MISMATCH] };
    }
    // The counts move on to the result (updated in place): `base` is not patched twice.
    accepted.users = undefined;
    for (const [kind, deltas] of [
      ['backends', change.backends],
      ['certificates', change.certificates],
    ] as const) {
      for (const [key, delta] of deltas) {
        const n = (users[kind].get(key) ?? 0) + delta;
        if (n === 0) users[kind].delete(key);
        else users[kind].set(key, n);
      }
    }
    this.#accepted.set(result, { ...sizes, text, users });
    this.#last = { config: result, ...sizes };
    return { ok: true, config: result };
  }

  /** The canonical text of a config this validator accepted with its hash checked. */
  textOf(config: DataplaneConfig): ConfigText | undefined {
    return this.#accepted.get(config)?.text;
  }

  /** The frame and every piece (not seen before) against the schema; the record sizes. */
  #schemaValid(value: unknown): Omit<Accepted, 'text'> | undefined {
    if (!checks.frame(value)) return undefined;
    const config = value as DataplaneConfig;
    // A host list or record that is the very object of the last accepted config was checked then.
    const last = this.#last;
    if (config.virtualHosts !== last?.config.virtualHosts) {
      for (const vh of config.virtualHosts) {
        if (!this.#virtualHosts.has(vh)) {
          if (!checks.virtualHost(vh)) return undefined;
          this.#virtualHosts.add(vh);
        }
      }
    }
    const backends =
      config.backends === last?.config.backends
        ? last.backends
        : this.#records(config.backends, this.#backends, checks.backendKey, checks.backend);
    if (backends > limits.backends) return undefined;
    const certificates =
      config.certificates === last?.config.certificates
        ? last.certificates
        : this.#records(config.certificates, this.#certificates, checks.certificateKey, checks.certificate);
    if (certificates > limits.certificates) return undefined;
    const route = config.defaultRoute;
    if (route !== undefined && !this.#defaultRoutes.has(route)) {
      if (!checks.defaultRoute(route)) return undefined;
      this.#defaultRoutes.add(route);
    }
    return { backends, certificates };
  }

  /** Checks a record's keys and pieces not seen before; its size, or +Infinity when invalid. */
  #records<T extends object>(
    record: Record<string, T>,
    seen: WeakMap<T, string>,
    keyCheck: ValidateFunction,
    pieceCheck: ValidateFunction,
  ): number {
    let size = 0;
    for (const key in record) {
      if (!Object.hasOwn(record, key)) return Number.POSITIVE_INFINITY;
      const piece = record[key];
      size++;
      if (seen.get(piece) === key) continue;
      if (!keyCheck(key) || !pieceCheck(piece)) return Number.POSITIVE_INFINITY;
      seen.set(piece, key);
    }
    return size;
  }

  /** A host's own references, checked once per host object. */
  #refs(vhost: VirtualHost): HostRefs | undefined {
    let refs = this.#hostRefs.get(vhost);
    if (refs === undefined) {
      refs = ownRefs(vhost);
      if (refs !== undefined) this.#hostRefs.set(vhost, refs);
    }
    return refs;
  }

  /** crossCheck(config) is empty; false means "run it for the errors", not "invalid". */
  #referencesValid(config: DataplaneConfig): boolean {
    const last = this.#last?.config;
    if (config.backends === last?.backends && config.certificates === last.certificates) {
      return this.#newHostsValid(config, last.virtualHosts) && defaultsValid(config);
    }
    const hosts = config.virtualHosts;
    for (let i = 0; i < hosts.length; i++) {
      const vhost = hosts[i];
      if (i > 0 && compareHosts(hosts[i - 1], vhost) >= 0) return false;
      if (!hostRefsExist(this.#refs(vhost), config)) return false;
    }
    return defaultsValid(config);
  }

  /**
   * With the records of `config` those of the last accepted one, whose hosts are `before`: hosts
   * kept from `before` (the same objects, in the same order) still have their references and
   * their order among themselves; only the others are checked, against both neighbours.
   */
  #newHostsValid(config: DataplaneConfig, before: VirtualHost[]): boolean {
    const hosts = config.virtualHosts;
    if (hosts === before) return true;
    let j = 0;
    for (let i = 0; i < hosts.length; i++) {
      const vhost = hosts[i];
      while (j < before.length && before[j] !== vhost && compareHosts(before[j], vhost) < 0) j++;
      if (j < before.length && before[j] === vhost) {
        j++;
        continue;
      }
      if (i > 0 && compareHosts(hosts[i - 1], vhost) >= 0) return false;
      if (i + 1 < hosts.length && compareHosts(vhost, hosts[i + 1]) >= 0) return false;
      if (!hostRefsExist(this.#refs(vhost), config)) return false;
    }
    return true;
  }

  /** How many hosts of a valid config refer to each backend and certificate key. */
  #users(config: DataplaneConfig): Users {
    const users: Users = { backends: new Map(), certificates: new Map() };
    for (const vhost of config.virtualHosts) addUses(users, this.#refs(vhost), 1);
    return users;
  }

  /** How the patch changes those counts: hosts it replaces or removes, hosts it sets. */
  #usersChange(base: DataplaneConfig, patch: ConfigPatch): Users {
    const change: Users = { backends: new Map(), certificates: new Map() };
    const names = [...patch.virtualHosts.remove, ...patch.virtualHosts.set.map((v) => v.host)];
    for (const name of new Set(names)) {
      const old = findHost(base.virtualHosts, name);
      if (old !== undefined) addUses(change, this.#refs(old), -1);
    }
    for (const vhost of patch.virtualHosts.set) addUses(change, this.#refs(vhost), 1);
    return change;
  }

  /**
   * crossCheck(result) is empty, given that `base` was valid: new hosts' references exist, and no
   * host still refers to a key the patch removed.
   */
  #patchReferencesValid(
    base: DataplaneConfig,
    patch: ConfigPatch,
    result: DataplaneConfig,
    users: Users,
    change: Users,
  ): boolean {
    // applyPatch keeps hosts sorted and unique (the patch sets each host once).
    for (const vhost of patch.virtualHosts.set) {
      if (!hostRefsExist(this.#refs(vhost), result)) return false;
    }
    const stillUsed = (
      record: Record<string, unknown>,
      removal: { set: object; remove: string[] },
      count: Map<string, number>,
      delta: Map<string, number>,
    ) =>
      removal.remove.some(
        (key) =>
          Object.hasOwn(record, key) &&
          !Object.hasOwn(removal.set, key) &&
          (count.get(key) ?? 0) + (delta.get(key) ?? 0) > 0,
      );
    if (stillUsed(base.backends, patch.backends, users.backends, change.backends)) return false;
    if (stillUsed(base.certificates, patch.certificates, users.certificates, change.certificates))
      return false;
    return defaultsValid(result);
  }
}

function addUses(users: Users, refs: HostRefs | undefined, n: number): void {
  if (refs === undefined) return;
  for (const key of refs.backends) users.backends.set(key, (users.backends.get(key) ?? 0) + n);
  if (refs.certificate !== undefined) {
    users.certificates.set(refs.certificate, (users.certificates.get(refs.certificate) ?? 0) + n);
  }
}

/** The host named `name` in canonical order, by binary search. */
function findHost(hosts: VirtualHost[], name: string): VirtualHost | undefined {
  const key = hostSortKey({ kind: hostKind(name), host: name });
  let lo = 0;
  let hi = hosts.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (hostSortKey(hosts[mid]) < key) lo = mid + 1;
    else hi = mid;
  }
  return lo < hosts.length && hosts[lo].host === name ? hosts[lo] : undefined;
}

/** How a record's size changes under a patch. */
function sizeChange(
  record: Record<string, unknown>,
  change: { set: Record<string, unknown>; remove: string[] },
): number {
  let delta = 0;
  for (const key of Object.keys(change.set)) if (!Object.hasOwn(record, key)) delta++;
  for (const key of new Set(change.remove)) {
    if (Object.hasOwn(record, key) && !Object.hasOwn(change.set, key)) delta--;
  }
  return delta;
}

function hostRefsExist(refs: HostRefs | undefined, config: DataplaneConfig): boolean {
  if (refs === undefined) return false;
  for (const key of refs.backends) if (!Object.hasOwn(config.backends, key)) return false;
  return refs.certificate === undefined || Object.hasOwn(config.certificates, refs.certificate);
}

function defaultsValid(config: DataplaneConfig): boolean {
  if (config.defaultRoute !== undefined) {
    const split = config.defaultRoute.split;
    if (!overridesInSplit(split)) return false;
    for (const b of split.backends) if (!Object.hasOwn(config.backends, b.backend)) return false;
  }
  return (
    config.defaultCertificate === undefined || Object.hasOwn(config.certificates, config.defaultCertificate)
  );
}

/** A host's references, if its own checks (route order, overrides) pass. */
function ownRefs(vhost: VirtualHost): HostRefs | undefined {
  const keys = new Set<string>();
  const routes = vhost.routes;
  for (let j = 0; j < routes.length; j++) {
    if (j > 0 && compareRoutes(routes[j - 1], routes[j]) >= 0) return undefined;
    const split = routes[j].split;
    if (!overridesInSplit(split)) return undefined;
    for (const b of split.backends) keys.add(b.backend);
  }
  if (vhost.passthrough !== undefined) keys.add(vhost.passthrough.backend);
  return { backends: [...keys], certificate: vhost.tls?.certificate };
}

function overridesInSplit(split: Split): boolean {
  for (const o of split.overrides) {
    if (!split.backends.some((b) => overrideTargets(o, b))) return false;
  }
  return true;
}

/** Whether a split backend is (one of) what the override chooses; each must name at least one. */
function overrideTargets(o: Split['overrides'][number], b: Split['backends'][number]): boolean {
  if (o.group !== undefined) return (b.canary === true) === (o.group === 'canary');
  return b.backend === o.backend;
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
    case 'format': {
      const format = formats[params.format as FormatName];
      return `${where}: ${format?.problem ?? 'is invalid'}`;
    }
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
      if (o.group !== undefined) {
        if (!split.backends.some((b) => overrideTargets(o, b)))
          add(`${where}.overrides[${i}].group: no ${o.group} backend in the split`);
      } else if (!keys.has(o.backend!)) {
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
    if (vhost.passthrough !== undefined && !hasBackend(vhost.passthrough.backend)) {
      add(`${where}.passthrough.backend: no backend ${JSON.stringify(vhost.passthrough.backend)}`);
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
