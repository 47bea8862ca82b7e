// The one polling helper of the tests, here because every layer's tests may import contract/.
// Tests wait for a state, never for a time: the limit only turns a hang into a clear failure.
import { setTimeout as sleep } from 'node:timers/promises';

/**
 * Polls `cond` every `intervalMs` until it returns something other than undefined or false
 * (an error counts as "not yet") and returns that; after `limitMs` it fails naming `what` and
 * the last error.
 */
export async function until<T>(
  cond: () => T | undefined | false | Promise<T | undefined | false>,
  what: string,
  limitMs = 120_000,
  intervalMs = 50,
): Promise<T> {
  const deadline = Date.now() + limitMs;
  let lastError: unknown;
  for (;;) {
    try {
      const v = await cond();
      if (v !== undefined && v !== false) return v;
    } catch (err) {
      lastError = err;
    }
    if (Date.now() > deadline) {
      const detail = lastError instanceof Error ? ` (last error: ${lastError.message})` : '';
      throw new Error(`timed out after ${limitMs} ms waiting for ${what}${detail}`);
    }
    await sleep(intervalMs);
  }
}
