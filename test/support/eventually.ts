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

/**
 * Polls `probe` every `intervalMs` until it returns a value (errors count as "not yet") or
 * `limitMs` passes; then the last answer, undefined, for the caller to assert on with its own message.
 */
export async function poll<T>(
  probe: () => Promise<T | undefined>,
  limitMs: number,
  intervalMs = 1000,
): Promise<T | undefined> {
  const deadline = Date.now() + limitMs;
  for (;;) {
    const v = await probe().catch(() => undefined);
    if (v !== undefined || Date.now() > deadline) return v;
    await sleep(intervalMs);
  }
}

/** Waits until `cond` holds (checked every 50 ms), for at most `limitMs`; then fails naming `what`. */
export async function until(
  cond: () => boolean | Promise<boolean>,
  what: string,
  limitMs = 30_000,
): Promise<void> {
  await eventually(what, async () => ((await cond()) ? true : undefined), limitMs, 50);
}
