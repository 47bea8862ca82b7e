// Compile options with their defaults filled in.

import { CONTROLLER_NAME, type CompileOptions, DEFAULT_CLASS_NAME } from '../api.ts';

export interface Options {
  controllerName: string;
  className: string;
  hostOwnership: 'strict' | 'shared';
  defaultCertificateSecret?: string;
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
  };
}
