import { setTimeout as sleep } from 'node:timers/promises';

/**
 * Polls `fn` until it returns something other than undefined (errors count as "not yet"), for at
 * most `limitMs`; the error then names what was awaited and the last failure.
 */
export async function eventually<T>(
  what: string,
  fn: () => Promise<T | undefined>,
  limitMs = 60_000,
  intervalMs = 200,
): Promise<T> {
  const deadline = Date.now() + limitMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const v = await fn();
      if (v !== undefined) return v;
    } catch (err) {
      last = err;
    }
    await sleep(intervalMs);
  }
  throw new Error(`timed out waiting for ${what}${last ? `: ${last}` : ''}`);
}
