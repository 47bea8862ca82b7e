// Regular-expression paths (ingress-nginx's `use-regex`): one definition of what a pattern may be
// and how it matches, shared by the compiler (which refuses a bad pattern with the reason), the
// validator and the data plane. Patterns run on RE2 (re2js): matching is linear in the path's
// length whatever the pattern, so no pattern can make a request expensive by backtracking.

import { RE2JS } from 're2js';

/** Longest pattern accepted. */
export const MAX_REGEX_CHARS = 1024;
/** Sum of the counts of `{m,n}` repetitions: each copies the repeated part into the program. */
export const MAX_REGEX_REPEAT = 1000;

// Visible ASCII without `"` (which ends a quoted nginx pattern): the pattern is never unescaped.
const CHARS = /^\/[\x21\x23-\x7E]*$/;
const REPEAT = /\{(\d+)(?:,(\d*))?\}/g;

export type RegexResult = { ok: true; value: RE2JS } | { ok: false; message: string };

/** Compiles a location pattern as nginx's `~* "^<pattern>"` would match it. */
export function compileLocationRegex(pattern: string): RegexResult {
  const problem = patternProblem(pattern);
  if (problem !== undefined) return { ok: false, message: problem };
  try {
    return { ok: true, value: RE2JS.compile(`^${pattern}`, RE2JS.CASE_INSENSITIVE) };
  } catch (err) {
    return { ok: false, message: `is not an RE2 regular expression: ${reason(err)}` };
  }
}

/** Compiles a pattern as nginx's `rewrite "(?i)<pattern>"` matches it: anywhere in the path. */
export function compileRewriteRegex(pattern: string): RE2JS | undefined {
  if (patternProblem(pattern) !== undefined) return undefined;
  try {
    return RE2JS.compile(pattern, RE2JS.CASE_INSENSITIVE);
  } catch {
    return undefined;
  }
}

function patternProblem(pattern: string): string | undefined {
  if (pattern.length > MAX_REGEX_CHARS) return `is longer than ${MAX_REGEX_CHARS} characters`;
  if (!CHARS.test(pattern)) {
    return 'must start with "/" and hold only visible ASCII characters other than \'"\' (no blanks or control characters)';
  }
  let repeat = 0;
  for (const m of pattern.matchAll(REPEAT)) repeat += Math.max(Number(m[1]), Number(m[2] || 0));
  if (repeat > MAX_REGEX_REPEAT) return `repeats more than ${MAX_REGEX_REPEAT} times in total ({m,n} counts)`;
  return undefined;
}

function reason(err: unknown): string {
  const text = err instanceof Error ? err.message : String(err);
  // The message quotes part of the pattern, which passed the character check above.
  return text.slice(0, 200);
}

/** Whether a string is a pattern the data plane can match with. */
export function isRoutePattern(pattern: string): boolean {
  return compileLocationRegex(pattern).ok;
}
