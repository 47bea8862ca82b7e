// Compile options with their defaults filled in.

import { CONTROLLER_NAME, type CompileOptions, DEFAULT_CLASS_NAME } from '../api.ts';

export interface Options {
  controllerName: string;
  className: string;
  hostOwnership: 'strict' | 'shared';
  defaultCertificateSecret?: string;
  /** Sorted, without duplicates; empty when ingress-nginx mode is off. */
  ingressNginxClassNames: string[];
  nginxSnippets: 'refuse' | 'warn';
}

export function resolveOptions(options: CompileOptions | undefined): Options {
  const o = options ?? {};
  return {
    controllerName:
      typeof o.controllerName === 'string' && o.controllerName !== '' ? o.controllerName : CONTROLLER_NAME,
    className: typeof o.className === 'string' && o.className !== '' ? o.className : DEFAULT_CLASS_NAME,
    hostOwnership: o.hostOwnership === 'shared' ? 'shared' : 'strict',
    defaultCertificateSecret:
      typeof o.defaultCertificateSecret === 'string' && o.defaultCertificateSecret !== ''
        ? o.defaultCertificateSecret
        : undefined,
    ingressNginxClassNames: Array.isArray(o.ingressNginxClassNames)
      ? [...new Set(o.ingressNginxClassNames.filter((n) => typeof n === 'string' && n !== ''))].sort()
      : [],
    nginxSnippets: o.nginxSnippets === 'warn' ? 'warn' : 'refuse',
  };
}
