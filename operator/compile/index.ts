// The compiler's public surface (contract in api.ts).

export * from './api.ts';
export { isSluiceIngress } from './classes/classes.ts';
export { compile, createCompiler } from './core/compile.ts';
export { SERVICE_NAME_LABEL } from './core/endpoints.ts';
export type { FollowedKind, Kind, Processor, Reads, References } from './core/processor.ts';
export { isReleased, namespaceState } from './core/released.ts';
export { buildClaimIndex } from './ingress/claims.ts';
export { ingressNotices, validateIngress } from './ingress/validate.ts';
export { followed, isRelevant, PIPELINE, referencesOf, sameInput } from './pipeline.ts';
export { validateRouteRatio } from './routeratio/routeratio.ts';
