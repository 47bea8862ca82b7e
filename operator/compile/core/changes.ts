// What one compile changed and must redo, and the comparisons that decide it.

import type { Backend } from '../../../contract/types.ts';
import type { CompiledIngressStatus, Conflict } from '../api.ts';
import type { ClassSelector } from '../classes/classes.ts';
import type { HostRecord } from '../ingress/vhosts.ts';
import type { KeyedEvent } from './events.ts';
import type { BackendUse, HostGroup, IngressRecord } from './records.ts';

/** A backend key in use: by routes to that one backend, or by a RouteRatio that splits to it. */
export interface BackendSlot extends BackendUse {
  /** The backend as last resolved (refreshed when its Service or slices change). */
  backend: Backend;
  /** Paths (and the default route) routed to this backend alone. */
  paths: number;
  /** In config.backends. */
  listed: boolean;
  /** The compile that last changed its use count. */
  mark: number;
}

/**
 * What one compile changed, collected as it goes. Queues are lists with a mark on each item (the
 * compile's number), cheaper than sets when the first compile queues everything.
 */
export class Changes {
  readonly mark: number;
  /** Hosts whose members changed (see HostRecord.joining and leaving). */
  readonly settle: HostRecord[] = [];
  /** Ingresses whose output is to be recomputed. */
  readonly outputs: IngressRecord[] = [];
  /** Hosts whose certificate and VirtualHost are to be recomputed. */
  readonly build: HostRecord[] = [];
  /** Backends whose use count changed. */
  readonly slots: BackendSlot[] = [];
  /** Namespace -> Service names whose Service or RouteRatio changed. */
  readonly refs = new Map<string, Set<string>>();
  readonly defaultsAdded: IngressRecord[] = [];
  readonly defaultsRemoved = new Set<IngressRecord>();
  readonly emittedAdded: HostRecord[] = [];
  readonly emittedRemoved = new Set<HostRecord>();
  vhosts = false;
  certificates = false;
  events = false;

  constructor(mark: number) {
    this.mark = mark;
  }

  join(host: HostRecord, group: HostGroup): void {
    this.queueSettle(host);
    // A new host's first member needs no sorting in.
    if (host.members.length === 0 && !host.leaving) host.members = [group];
    else if (host.joining) host.joining.push(group);
    else host.joining = [group];
  }

  leave(host: HostRecord, group: HostGroup): void {
    this.queueSettle(host);
    if (host.leaving) host.leaving.add(group);
    else host.leaving = new Set([group]);
  }

  private queueSettle(host: HostRecord): void {
    if (host.settleMark === this.mark) return;
    host.settleMark = this.mark;
    host.joining = undefined;
    host.leaving = undefined;
    this.settle.push(host);
  }

  output(record: IngressRecord): void {
    if (record.outputMark === this.mark) return;
    record.outputMark = this.mark;
    this.outputs.push(record);
  }

  rebuild(host: HostRecord): void {
    if (host.buildMark === this.mark) return;
    host.buildMark = this.mark;
    this.build.push(host);
  }

  slot(slot: BackendSlot): void {
    if (slot.mark === this.mark) return;
    slot.mark = this.mark;
    this.slots.push(slot);
  }
}

export function listOf(value: unknown): readonly unknown[] {
  return Array.isArray(value) ? value : [];
}

export function sameSelector(a: ClassSelector, b: ClassSelector): boolean {
  if (a.defaultIsOurs !== b.defaultIsOurs || a.ours.size !== b.ours.size) return false;
  if (a.legacyNames.size !== b.legacyNames.size) return false;
  for (const name of a.ours) if (!b.ours.has(name)) return false;
  for (const name of a.legacyNames) if (!b.legacyNames.has(name)) return false;
  return true;
}

/** `<namespace>/<name>` as written, to pair a replaced object with its replacement. */
export function rawKey(raw: unknown): string | undefined {
  const meta = (raw as { metadata?: { namespace?: unknown; name?: unknown } } | null)?.metadata;
  return typeof meta?.namespace === 'string' && typeof meta.name === 'string'
    ? `${meta.namespace}/${meta.name}`
    : undefined;
}

export function sameConflicts(
  a: Map<number, Conflict> | undefined,
  b: Map<number, Conflict> | undefined,
): boolean {
  if (a === undefined || b === undefined) return a === b;
  if (a.size !== b.size) return false;
  for (const [i, conflict] of a) {
    const other = b.get(i);
    if (other?.kind !== conflict.kind || other.message !== conflict.message) return false;
  }
  return true;
}

export function sameStatus(a: CompiledIngressStatus, b: CompiledIngressStatus): boolean {
  if (a.routes !== b.routes || a.rejected.length !== b.rejected.length) return false;
  for (let i = 0; i < a.rejected.length; i++) {
    const x = a.rejected[i];
    const y = b.rejected[i];
    if (
      x.host !== y.host ||
      x.path !== y.path ||
      x.pathType !== y.pathType ||
      x.reason !== y.reason ||
      x.message !== y.message
    )
      return false;
  }
  return true;
}

export function sameKeys(a: readonly KeyedEvent[], b: readonly KeyedEvent[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i].key !== b[i].key) return false;
  return true;
}
