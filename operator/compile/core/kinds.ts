// The kinds of objects the compiler reads.

/** The kinds of the snapshot. */
export type Kind =
  | 'IngressClass'
  | 'Ingress'
  | 'Service'
  | 'EndpointSlice'
  | 'Secret'
  | 'RouteRatio'
  | 'Namespace';

/** Kinds that matter only while some object a processor reads refers to them. */
export type FollowedKind = 'Service' | 'EndpointSlice' | 'Secret';
