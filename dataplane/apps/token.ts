// The config API's bearer token, read from a file (a mounted Secret) and re-read when the file
// changes, so a rotated Secret takes effect without a restart. Compared in constant time.

import { createHash, timingSafeEqual } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';

export interface TokenCheck {
  /** True when the Authorization header carries the current token. */
  verify(authorization: string | undefined): boolean;
}

export function tokenFromFile(path: string, opts: { recheckMs?: number } = {}): TokenCheck {
  const recheckMs = opts.recheckMs ?? 2_000;
  let digest = load(path);
  let mtime = statSync(path).mtimeMs;
  let checkedAt = Date.now();
  return {
    verify(authorization) {
      const now = Date.now();
      if (now - checkedAt >= recheckMs) {
        checkedAt = now;
        try {
          const m = statSync(path).mtimeMs;
          if (m !== mtime) {
            digest = load(path);
            mtime = m;
          }
        } catch {
          // Keep the last good token while the Secret is being swapped.
        }
      }
      return matches(digest, authorization);
    },
  };
}

export function fixedToken(token: string): TokenCheck {
  if (token.length === 0) throw new Error('config API token must not be empty');
  const digest = sha256(token);
  return { verify: (authorization) => matches(digest, authorization) };
}

function load(path: string): Buffer {
  const token = readFileSync(path, 'utf8').trim();
  if (token.length === 0) throw new Error(`config API token file ${path} is empty`);
  return sha256(token);
}

function sha256(text: string): Buffer {
  return createHash('sha256').update(text).digest();
}

function matches(digest: Buffer, authorization: string | undefined): boolean {
  if (authorization === undefined) return false;
  const m = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(authorization);
  // Hashing first makes the comparison constant-time whatever the presented length.
  const presented = sha256(m === null ? '' : m[1]);
  return timingSafeEqual(presented, digest) && m !== null;
}
