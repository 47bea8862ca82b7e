// Events collected during one compile: deduplicated and sorted, so the output is deterministic.

import type { CompileEvent, ObjectRef } from './api.ts';
import type { Meta } from './objects.ts';

export class EventLog {
  private readonly events = new Map<string, CompileEvent>();

  add(type: CompileEvent['type'], reason: string, message: string, object: ObjectRef): void {
    const event: CompileEvent = { type, reason, message, object };
    const key = [object.kind, object.namespace ?? '', object.name, reason, message].join('\u0000');
    if (!this.events.has(key)) this.events.set(key, event);
  }

  warn(reason: string, message: string, object: ObjectRef): void {
    this.add('Warning', reason, message, object);
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
