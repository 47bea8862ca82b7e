// Cached API objects are shared by the store, snapshots and status code; freezing them turns an
// accidental mutation into an immediate TypeError instead of a corrupted cache.

export function deepFreeze<T>(value: T): T {
  if (value === null || typeof value !== 'object' || Object.isFrozen(value)) return value;
  for (const v of Object.values(value as Record<string, unknown>)) deepFreeze(v);
  return Object.freeze(value);
}
