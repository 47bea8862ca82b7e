// The emit step of the engine: keeps config.backends and config.certificates up to date from
// the use counts the earlier steps report, and assembles the config, reusing the previous one
// (the same object) when none of its pieces changed. It runs last.

import type { Backend, Certificate, DataplaneConfig, VirtualHost } from '../../../contract/types.ts';
import type { BackendSlot, Changes } from '../core/changes.ts';
import type { ServiceIndex } from '../core/endpoints.ts';
import type { Shared, Stage } from '../core/stage.ts';
import type { SecretIndex } from '../ingress/tls.ts';
import { ConfigHasher, type ConfigParts, emitConfig, hashWhole, SortedRecord } from './emit.ts';

export class EmitStage implements Stage {
  private readonly shared: Shared;
  /** Content hashes of the configs (see the constructor). */
  private readonly hash: (config: DataplaneConfig) => string;
  /** config.backends by key. */
  private readonly backendRecord = new SortedRecord<BackendSlot>();
  /** Certificate keys by the number of virtual hosts using them. */
  private readonly certificateUses = new Map<string, number>();
  private certificates: Record<string, Certificate> = {};
  private defaultCertificate?: string;

  /**
   * `once`: the engine compiles one snapshot and is dropped. Its config is then hashed with one
   * serialisation of the whole, the cheapest. A long-lived engine texts the pieces one by one
   * and keeps the text (ConfigHasher), which costs its first compile a little more and spares
   * every later compile and push much more: a change re-texts and re-hashes what it changed.
   */
  constructor(shared: Shared) {
    this.shared = shared;
    this.hash = shared.once ? hashWhole : new ConfigHasher().version;
    shared.list = (slot, listed) => this.list(slot, listed);
    shared.useCertificate = (was, now, c) => this.useCertificate(was, now, c);
  }

  derive(c: Changes): void {
    const { services, secrets, splitTo, defaultCertificate, defaultRoute } = this.shared;
    const last = this.shared.last;
    for (const slot of c.slots) this.list(slot, slot.paths > 0 || splitTo.has(slot));
    const backends = this.backends(services, last?.config.backends);
    const certificates = this.certificatesFor(c, last === undefined, defaultCertificate, secrets);
    this.shared.config = this.config(last?.config, c.vhosts, this.shared.virtualHosts, {
      backends,
      certificates,
      defaultRoute: defaultRoute?.route,
      defaultCertificate,
    });
  }

  /** Lists a backend in config.backends, or takes it out. */
  list(slot: BackendSlot, listed: boolean): void {
    if (listed === slot.listed) return;
    slot.listed = listed;
    if (listed) this.backendRecord.add(slot);
    else this.backendRecord.remove(slot);
  }

  /** A virtual host's certificate changed from `was` to `now`. */
  useCertificate(was: string | undefined, now: string | undefined, c: Changes): void {
    if (was === now) return;
    c.certificates = true;
    if (was !== undefined) {
      const n = this.certificateUses.get(was)! - 1;
      if (n === 0) this.certificateUses.delete(was);
      else this.certificateUses.set(was, n);
    }
    if (now !== undefined) this.certificateUses.set(now, (this.certificateUses.get(now) ?? 0) + 1);
  }

  /** config.backends: a listed backend whose Service or slices changed is resolved again. */
  backends(services: ServiceIndex, previous: Record<string, Backend> | undefined): Record<string, Backend> {
    // (One no longer in use is resolved again when a route or RouteRatio uses it again.) An
    // unchanged one comes back as the same object, and the record changes only if one in use did.
    for (const before of services.changedBackends) {
      const slot = before.slot as BackendSlot | undefined;
      if (!slot?.listed) continue;
      slot.backend = services.resolve(slot.namespace, slot.name, slot.port, slot.clusterIp).backend;
      if (previous?.[slot.key] !== slot.backend) this.backendRecord.touch();
    }
    return this.backendRecord.build((slot) => slot.backend);
  }

  /** config.certificates: every certificate a virtual host uses, and the default certificate. */
  certificatesFor(
    c: Changes,
    first: boolean,
    defaultCertificate: string | undefined,
    secrets: SecretIndex,
  ): Record<string, Certificate> {
    const changed =
      first || c.certificates || defaultCertificate !== this.defaultCertificate || secrets.changed.size > 0;
    this.defaultCertificate = defaultCertificate;
    if (!changed) return this.certificates;
    const keys = [...this.certificateUses.keys()];
    if (defaultCertificate !== undefined && !this.certificateUses.has(defaultCertificate))
      keys.push(defaultCertificate);
    const before = this.certificates;
    const certificates: Record<string, Certificate> = {};
    for (const key of keys.sort()) {
      const result = secrets.load(key);
      if (!result.ok) continue;
      // A Secret replaced with the same certificate and key keeps the piece.
      const was = before[key];
      const same =
        was && was.certPem === result.certificate.certPem && was.keyPem === result.certificate.keyPem;
      certificates[key] = same ? was : result.certificate;
    }
    // The same certificates keep the same record, so the config is unchanged.
    const beforeKeys = Object.keys(before);
    const nowKeys = Object.keys(certificates);
    const same =
      beforeKeys.length === nowKeys.length &&
      nowKeys.every((k, i) => beforeKeys[i] === k && before[k] === certificates[k]);
    if (!same) this.certificates = certificates;
    return this.certificates;
  }

  /**
   * The config: the previous one when no piece changed, else a new one (virtual hosts listed
   * again only when one changed).
   */
  config(
    last: DataplaneConfig | undefined,
    vhostsChanged: boolean,
    virtualHosts: () => VirtualHost[],
    parts: Omit<ConfigParts, 'virtualHosts'>,
  ): DataplaneConfig {
    if (
      last !== undefined &&
      !vhostsChanged &&
      parts.backends === last.backends &&
      parts.certificates === last.certificates &&
      parts.defaultRoute === last.defaultRoute &&
      parts.defaultCertificate === last.defaultCertificate
    )
      return last;
    const hosts = last === undefined || vhostsChanged ? virtualHosts() : last.virtualHosts;
    return emitConfig({ virtualHosts: hosts, ...parts }, this.hash);
  }
}
