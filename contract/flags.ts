// Command-line flags of Sluice's three programs (data plane, operator, admission webhook), with one
// grammar for all: `--kebab-case=value` or `--kebab-case value` (a boolean flag alone means true),
// else the environment variable `SLUICE_UPPER_SNAKE`, else the default; an empty value counts as
// unset. Values are checked as they are read and problems collected, so a bad start lists them all.
// The data plane depends on nothing else of Sluice, so this lives here and the others import it.

import { isIP } from 'node:net';

export interface FlagSpec {
  help: string;
  default?: string;
  /** `--flag` alone means `--flag=true`. */
  boolean?: boolean;
}

export type FlagSpecs = Readonly<Record<string, FlagSpec>>;

/** Every problem with the flags of one start, listed. */
export class FlagError extends Error {
  readonly problems: string[];

  constructor(problems: string[]) {
    super(`invalid settings:\n  ${problems.join('\n  ')}`);
    this.name = 'FlagError';
    this.problems = problems;
  }
}

export function envName(flag: string): string {
  return `SLUICE_${flag.toUpperCase().replaceAll('-', '_')}`;
}

/** The `--help` text: each flag with its environment variable, what it does and its default. */
export function usage(program: string, specs: FlagSpecs): string {
  const lines = [
    `usage: node ${program} [--flag=value ...]`,
    '',
    'Flags (environment variable in brackets):',
  ];
  for (const [flag, spec] of Object.entries(specs)) {
    const def = spec.default ? ` (default ${spec.default})` : '';
    lines.push(`  --${flag} [${envName(flag)}]`, `      ${spec.help}${def}`);
  }
  return `${lines.join('\n')}\n`;
}

const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** `500ms`, `2s`, `1.5s`, `1m30s`, `12h`, `90d`, or a bare integer of milliseconds; else undefined. */
export function parseDuration(text: string): number | undefined {
  if (/^\d+$/.test(text)) return Number(text);
  if (text === '') return undefined;
  const re = /(\d+(?:\.\d+)?)(ms|s|m|h|d)/y;
  let total = 0;
  let pos = 0;
  while (pos < text.length) {
    re.lastIndex = pos;
    const m = re.exec(text);
    if (!m) return undefined;
    total += Number(m[1]) * UNITS[m[2]];
    pos = re.lastIndex;
  }
  return Math.round(total);
}

/** The flags of one start: raw values, typed readers that note problems, and the verdict. */
export class Flags {
  readonly problems: string[] = [];
  readonly #values = new Map<string, string>();

  constructor(argv: readonly string[], env: NodeJS.ProcessEnv, specs: FlagSpecs) {
    for (let i = 0; i < argv.length; i++) {
      const arg = argv[i];
      const m = /^--([a-z][a-z0-9-]*)(?:=([\s\S]*))?$/.exec(arg);
      const spec = m && Object.hasOwn(specs, m[1]) ? specs[m[1]] : undefined;
      if (!m || !spec) {
        this.problems.push(`unknown argument ${JSON.stringify(arg.slice(0, 80))} (see --help)`);
        continue;
      }
      let value = m[2];
      if (value === undefined) {
        if (spec.boolean) value = 'true';
        else if (i + 1 < argv.length && !argv[i + 1].startsWith('--')) value = argv[++i];
        else {
          this.problems.push(`--${m[1]} needs a value: --${m[1]}=...`);
          continue;
        }
      }
      if (value !== '') this.#values.set(m[1], value);
    }
    for (const [flag, spec] of Object.entries(specs)) {
      if (this.#values.has(flag)) continue;
      const fromEnv = env[envName(flag)];
      if (fromEnv !== undefined && fromEnv !== '') this.#values.set(flag, fromEnv);
      else if (spec.default) this.#values.set(flag, spec.default);
    }
  }

  /** The value as given (flag, environment or default); undefined when unset. */
  get(flag: string): string | undefined {
    return this.#values.get(flag);
  }

  problem(text: string): void {
    this.problems.push(text);
  }

  /** An integer in min..max. */
  int(flag: string, min: number, max: number): number {
    const raw = this.get(flag) ?? '';
    const n = Number(raw);
    if (!/^\d+$/.test(raw) || n < min || n > max) {
      this.problem(`--${flag}: ${show(raw)} is not an integer in ${min}..${max}`);
    }
    return n;
  }

  /** A duration in milliseconds, at least `min` (0 allows `0`). */
  duration(flag: string, min = 1): number {
    const raw = this.get(flag) ?? '';
    const ms = parseDuration(raw);
    if (ms === undefined) {
      this.problem(`--${flag}: ${show(raw)} is not a duration like 500ms, 30s, 1m30s, 12h or 90d`);
      return min;
    }
    if (ms < min) this.problem(`--${flag}: must be at least ${min} ms`);
    return ms;
  }

  /** `true`/`false` (or `1`/`0`). */
  bool(flag: string): boolean {
    const raw = (this.get(flag) ?? '').toLowerCase();
    if (raw === 'true' || raw === '1') return true;
    if (raw !== 'false' && raw !== '0') this.problem(`--${flag}: ${show(raw)} is not true or false`);
    return false;
  }

  /** One of `values`; the first of them when the value is another. */
  oneOf<T extends string>(flag: string, values: readonly T[]): T {
    const raw = this.get(flag);
    if (values.includes(raw as T)) return raw as T;
    this.problem(`--${flag}: ${show(raw ?? '')} is not ${values.join(', ')}`);
    return values[0];
  }

  /** An IP address. */
  ip(flag: string): string {
    const raw = this.get(flag) ?? '';
    if (isIP(raw) === 0) this.problem(`--${flag}: ${show(raw)} is not an IP address`);
    return raw;
  }

  /** The value if it matches `pattern`, described as `what` when it does not; undefined when unset. */
  matching(flag: string, pattern: RegExp, what: string): string | undefined {
    const raw = this.get(flag);
    if (raw === undefined || pattern.test(raw)) return raw;
    this.problem(`--${flag}: ${show(raw)} is not ${what}`);
    return undefined;
  }

  /** A comma-separated list, items trimmed, empty ones dropped. */
  list(flag: string): string[] {
    return (this.get(flag) ?? '')
      .split(',')
      .map((s) => s.trim())
      .filter((s) => s !== '');
  }

  /** `value`, or a FlagError listing every problem noted. */
  done<T>(value: T): T {
    if (this.problems.length > 0) throw new FlagError(this.problems);
    return value;
  }
}

function show(raw: string): string {
  return JSON.stringify(raw.slice(0, 80));
}
