// The config-API bearer token, read from a file and re-read when the file changes, so a rotated
// Secret volume takes effect without a restart.

import { readFile, stat } from 'node:fs/promises';

export class TokenFile {
  readonly path: string;
  #token = '';
  #mtimeMs = -1;
  #size = -1;

  constructor(path: string) {
    this.path = path;
  }

  async get(): Promise<string> {
    const st = await stat(this.path);
    if (st.mtimeMs !== this.#mtimeMs || st.size !== this.#size) {
      const token = (await readFile(this.path, 'utf8')).trim();
      if (token === '') throw new Error(`token file ${this.path} is empty`);
      if (!/^[\x21-\x7e]+$/.test(token))
        throw new Error(`token file ${this.path} holds characters a token cannot have`);
      this.#token = token;
      this.#mtimeMs = st.mtimeMs;
      this.#size = st.size;
    }
    return this.#token;
  }
}
