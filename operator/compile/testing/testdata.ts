// Reads a golden case: multi-document YAML of Kubernetes objects, optionally starting with a
// `kind: CompileOptions` document, into a Snapshot and options. Used by the tests and the docs'
// examples; test-only helper, kept beside them.

import { parseAllDocuments } from 'yaml';
import type { CompileOptions, RouteRatio, Snapshot } from '../api.ts';
import { namespaceState } from '../core/released.ts';

export function emptySnapshot(): Snapshot {
  return {
    ingressClasses: [],
    ingresses: [],
    services: [],
    endpointSlices: [],
    secrets: [],
    routeRatios: [],
  };
}

export function snapshotFromYaml(text: string): { snapshot: Snapshot; options: CompileOptions } {
  const snapshot = emptySnapshot();
  let options: CompileOptions = {};
  for (const doc of parseAllDocuments(text)) {
    if (doc.errors.length > 0) throw new Error(`YAML: ${doc.errors[0].message}`);
    const obj = doc.toJS() as { kind?: string } | null;
    if (obj === null || obj === undefined) continue;
    switch (obj.kind) {
      case 'CompileOptions': {
        const { kind: _kind, ...rest } = obj as Record<string, unknown>;
        options = rest as CompileOptions;
        break;
      }
      case 'IngressClass':
        snapshot.ingressClasses.push(obj as Snapshot['ingressClasses'][number]);
        break;
      case 'Ingress':
        snapshot.ingresses.push(obj as Snapshot['ingresses'][number]);
        break;
      case 'Service':
        snapshot.services.push(obj as Snapshot['services'][number]);
        break;
      case 'EndpointSlice':
        snapshot.endpointSlices.push(obj as Snapshot['endpointSlices'][number]);
        break;
      case 'Secret':
        snapshot.secrets.push(obj as Snapshot['secrets'][number]);
        break;
      case 'RouteRatio':
        snapshot.routeRatios.push(obj as RouteRatio);
        break;
      case 'Namespace': {
        const state = namespaceState(obj);
        if (!state) throw new Error('a Namespace in test data needs metadata.name');
        snapshot.namespaces ??= [];
        snapshot.namespaces.push(state);
        break;
      }
      default:
        throw new Error(`unexpected kind ${JSON.stringify(obj.kind)} in test data`);
    }
  }
  return { snapshot, options };
}
