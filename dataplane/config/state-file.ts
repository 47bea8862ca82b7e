// The last applied config on disk, so a restarted replica serves before the operator is back.
// Written to a temporary file and renamed, so a crash never leaves a half-written config.
//
// Saving happens in the background: at 10,000 Ingresses the config is 14 MiB, and writing it
// must not hold up the answer to the operator. Saves are coalesced: while one write runs, only
// the newest config waiting is kept, so a burst of versions costs at most two writes.

import { readdir, readFile, rename, unlink, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

/** Refused state files kept beside the state file for inspection; older ones are deleted. */
export const KEEP_REJECTED = 3;

/** The file's content, produced when the write starts (so a superseded config is never serialised). */
export type StateSource = () => Iterable<string | Uint8Array>;

export class StateFile {
  readonly path: string;
  #pending: StateSource | undefined;
  #running: Promise<void> | undefined;
  #waiters: Array<{ resolve: () => void; reject: (err: Error) => void }> = [];

  constructor(path: string) {
    this.path = path;
  }

  /** Resolves to the parsed JSON, or undefined when the file does not exist. */
  async read(): Promise<unknown> {
    let text: string;
    try {
      text = await readFile(this.path, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
    return JSON.parse(text);
  }

  /**
   * Moves the file out of the way (a saved config that is refused must not be loaded again by the
   * next start): renamed to `<path>.rejected-<UTC time>`, keeping the newest KEEP_REJECTED of
   * those. Resolves to the new name.
   */
  async setAside(now = new Date()): Promise<string> {
    const stamp = now
      .toISOString()
      .replace(/[-:]/g, '')
      .replace(/\.\d+Z$/, 'Z');
    const prefix = `${basename(this.path)}.rejected-`;
    let target = `${this.path}.rejected-${stamp}`;
    const dir = dirname(this.path);
    const names = await readdir(dir);
    for (let n = 2; names.includes(basename(target)); n++) target = `${this.path}.rejected-${stamp}-${n}`;
    await rename(this.path, target);
    // The UTC stamps sort by time; anything else under the prefix is left alone.
    const rejected = [...names.filter((name) => name.startsWith(prefix)), basename(target)]
      .filter((name) => /^\d{8}T\d{6}Z(?:-\d+)?$/.test(name.slice(prefix.length)))
      .sort(byStamp);
    for (const name of rejected.slice(0, Math.max(0, rejected.length - KEEP_REJECTED))) {
      await unlink(join(dir, name)).catch(() => {});
    }
    return target;
  }

  /**
   * Queues `source` to be written, replacing a queued one that has not started. Resolves when it
   * (or a newer source queued after it) is on disk; rejects when that write fails.
   */
  save(source: StateSource): Promise<void> {
    this.#pending = source;
    const done = new Promise<void>((resolve, reject) => this.#waiters.push({ resolve, reject }));
    this.#running ??= this.#drain();
    return done;
  }

  /** Resolves once nothing is queued or being written (shutdown, tests). */
  async flush(): Promise<void> {
    while (this.#running !== undefined) await this.#running;
  }

  async #drain(): Promise<void> {
    // Starts after the caller's synchronous work (the response) is done.
    await Promise.resolve();
    while (this.#pending !== undefined) {
      const source = this.#pending;
      const waiters = this.#waiters;
      this.#pending = undefined;
      this.#waiters = [];
      try {
        const tmp = `${this.path}.${process.pid}.tmp`;
        await writeFile(tmp, source(), { mode: 0o600 });
        await rename(tmp, this.path);
        for (const w of waiters) w.resolve();
      } catch (err) {
        for (const w of waiters) w.reject(err as Error);
      }
    }
    this.#running = undefined;
  }
}

/** Oldest first: by stamp, then by the `-<n>` of names made in the same second. */
function byStamp(a: string, b: string): number {
  const key = (name: string) => {
    const m = /(\d{8}T\d{6}Z)(?:-(\d+))?$/.exec(name)!;
    return [m[1], Number(m[2] ?? 1)] as const;
  };
  const [sa, na] = key(a);
  const [sb, nb] = key(b);
  return sa < sb ? -1 : sa > sb ? 1 : na - nb;
}
