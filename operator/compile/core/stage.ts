// The engine's side of a processor: a stage holds that processor's part of the incremental state
// and updates it on each compile. The engine runs every stage's `read` in PIPELINE order (each
// takes the snapshot's objects of its kinds and marks in Changes what they invalidate), then every
// stage's `derive` in the same order (each redoes what is marked and publishes its results in the
// Shared state for the later steps).

import type { DataplaneConfig, DefaultRoute, VirtualHost } from '../../../contract/types.ts';
import type { CompileResult, Snapshot } from '../api.ts';
import type { ClassSelector } from '../classes/classes.ts';
import type { ServiceRef } from '../ingress/ingress.ts';
import type { SecretIndex } from '../ingress/tls.ts';
import type { RouteRatioUse } from '../routeratio/splits.ts';
import type { BackendSlot, Changes } from './changes.ts';
import type { ResolvedBackend, ServiceIndex } from './endpoints.ts';
import type { EventLog } from './events.ts';
import type { Kind } from './kinds.ts';
import type { Meta } from './objects.ts';
import type { Options } from './options.ts';
import type { Decision, IngressRecord } from './records.ts';

export interface Stage {
  /** Takes this compile's objects of the kinds it reads. */
  read?(snapshot: Partial<Snapshot>, c: Changes): void;
  /** Redoes what the reads marked. */
  derive?(c: Changes): void;
  /** Adds the events it holds to the compile's events. */
  events?(log: EventLog): void;
  /** Whether the snapshot named two of its objects alike: such a state is rebuilt, not updated. */
  readonly malformed?: boolean;
}

/**
 * What the stages share: the core's indexes, and what each step publishes for the later ones
 * (set by the step that owns it, read after it in PIPELINE order).
 */
export interface Shared {
  readonly options: Options;
  /** The engine compiles one snapshot and is dropped (see EmitStage). */
  readonly once: boolean;
  /** Whether two versions of an object are the same to the pipeline (pipeline.ts). */
  readonly sameInput: (kind: Kind, a: unknown, b: unknown) => boolean;
  readonly services: ServiceIndex;
  readonly secrets: SecretIndex;
  /** Compiles so far, this one included. */
  compiles: number;
  /** The previous result. */
  last?: CompileResult;
  /** Namespaces being deleted: their objects are released (released.ts). */
  terminating: ReadonlySet<string>;
  /** Namespaces that started or stopped terminating in this compile, or undefined when none did. */
  flipped?: ReadonlySet<string>;
  /** classes: the IngressClass selection, and whether it changed in this compile. */
  selector?: ClassSelector;
  reselect: boolean;
  /** routeratio: the RouteRatio that splits a route, if any. */
  splitFor(meta: Meta, ref: ServiceRef): RouteRatioUse | undefined;
  /** routeratio: counts (sign 1) or uncounts (-1) an Ingress's routes split by a RouteRatio. */
  countSplit(key: string, ingress: string, sign: 1 | -1): void;
  /** routeratio: backends listed because a RouteRatio in use splits to them. */
  splitTo: ReadonlySet<BackendSlot>;
  /** ingress: the default certificate's key, when configured and usable. */
  defaultCertificate?: string;
  /** ingress: the default route, the Ingress it comes from and where it goes. */
  defaultRoute?: { record: IngressRecord; route: DefaultRoute; decision: Decision };
  /** ingress: the virtual hosts in config order. */
  virtualHosts(): VirtualHost[];
  /** emit: lists a backend in config.backends, or takes it out. */
  list(slot: BackendSlot, listed: boolean): void;
  /** emit: a virtual host's certificate changed from `was` to `now`. */
  useCertificate(was: string | undefined, now: string | undefined, c: Changes): void;
  /** Statuses as the steps built them. */
  statuses: Partial<CompileResult['statuses']>;
  /** emit: the config. */
  config?: DataplaneConfig;
}

/** The shared state before the first compile: each step's defaults stand until its stage sets them. */
export function newShared(
  options: Options,
  once: boolean,
  sameInput: Shared['sameInput'],
  services: ServiceIndex,
  secrets: SecretIndex,
): Shared {
  return {
    options,
    once,
    sameInput,
    services,
    secrets,
    compiles: 0,
    last: undefined,
    terminating: new Set(),
    flipped: undefined,
    selector: undefined,
    reselect: false,
    splitFor: () => undefined,
    countSplit: () => {},
    splitTo: new Set(),
    defaultCertificate: undefined,
    defaultRoute: undefined,
    virtualHosts: () => [],
    list: () => {},
    useCertificate: () => {},
    statuses: {},
    config: undefined,
  };
}

/** The backend slot of a resolved backend: one per Service port, shared by every route to it. */
export function slotOf(resolved: ResolvedBackend, namespace: string, name: string): BackendSlot {
  let slot = resolved.slot as BackendSlot | undefined;
  if (!slot) {
    slot = {
      key: resolved.key,
      namespace,
      name,
      port: resolved.port,
      clusterIp: resolved.clusterIp,
      // Keys in sorted order (see emit.ts); every route to this backend shares it.
      split: {
        backends: [{ backend: resolved.key, name, weight: 1 }],
        mode: 'weighted',
        overrides: [],
      },
      backend: resolved.backend,
      paths: 0,
      listed: false,
      mark: 0,
    };
    resolved.slot = slot;
  }
  return slot;
}
