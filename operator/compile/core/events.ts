// Events of a compile: kept per object that caused them (so an unchanged object keeps its list),
// then deduplicated and sorted, so the output is deterministic.

import type { CompileEvent, ObjectRef } from '../api.ts';
import type { Meta } from './objects.ts';

/** An event with the key it is deduplicated and sorted by. */
export interface KeyedEvent {
  key: string;
  event: CompileEvent;
}

export function warning(reason: string, message: string, object: ObjectRef): KeyedEvent {
  const key = [object.kind, object.namespace ?? '', object.name, reason, message].join('\u0000');
  return { key, event: { type: 'Warning', reason, message, object } };
}

export class EventLog {
  private readonly events = new Map<string, CompileEvent>();

  add(keyed: KeyedEvent): void {
    if (!this.events.has(keyed.key)) this.events.set(keyed.key, keyed.event);
  }

  addAll(list: readonly KeyedEvent[]): void {
    for (const keyed of list) this.add(keyed);
  }

  warn(reason: string, message: string, object: ObjectRef): void {
    this.add(warning(reason, message, object));
  }

  sorted(): CompileEvent[] {
    return [...this.events.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, e]) => e);
  }
}

export function ingressRef(meta: Meta): ObjectRef {
  const ref: ObjectRef = { kind: 'Ingress', namespace: meta.namespace, name: meta.name };
  if (meta.uid) ref.uid = meta.uid;
  return ref;
}
