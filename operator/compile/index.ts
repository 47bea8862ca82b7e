// The compiler's public surface (contract in api.ts).

export * from './api.ts';
export { buildClaimIndex } from './claims.ts';
export { isSluiceIngress } from './classes.ts';
export { compile, createCompiler } from './compile.ts';
export { isReleased, namespaceState } from './released.ts';
export { validateRouteRatio } from './routeratio.ts';
export { validateIngress } from './validate.ts';
