// The last applied config on disk, so a restarted replica serves before the operator is back.
// Written to a temporary file and renamed, so a crash never leaves a half-written config.

import { readFile, rename, writeFile } from 'node:fs/promises';

export class StateFile {
  readonly path: string;
  #chain: Promise<void> = Promise.resolve();
  #seq = 0;

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

  /** Writes are serialised: a slow older write never lands after a newer one. */
  write(json: string): Promise<void> {
    const seq = ++this.#seq;
    const next = this.#chain.then(async () => {
      if (seq !== this.#seq) return; // a newer version is queued; skip this one
      const tmp = `${this.path}.${process.pid}.tmp`;
      await writeFile(tmp, json, { mode: 0o600 });
      await rename(tmp, this.path);
    });
    this.#chain = next.catch(() => {});
    return next;
  }
}
