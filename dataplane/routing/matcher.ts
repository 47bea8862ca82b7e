// Host and path lookup whose cost depends on the request, not on the number of routes: a map per
// host kind and, per host, a map of Exact paths plus a trie of Prefix path segments. Regex routes
// (ingress-nginx's `use-regex` hosts) are the exception: tried one by one, in config order, only
// on the hosts that have them.

import type { RE2JS } from 're2js';
import { compileLocationRegex } from '../../contract/regex.ts';

export interface PathRule<T> {
  path: string;
  pathType: 'Exact' | 'Prefix' | 'Regex';
  value: T;
}

interface TrieNode<T> {
  children: Map<string, TrieNode<T>> | null;
  value: T | undefined;
}

/** Kubernetes path matching: Exact is a whole-string match, Prefix is element-wise. */
export class PathMatcher<T> {
  readonly #exact = new Map<string, T>();
  readonly #root: TrieNode<T> = { children: null, value: undefined };
  /** In config order; null on hosts without Regex routes. */
  #regex: Array<{ re: RE2JS; value: T }> | null = null;

  /** Earlier rules win over later ones with the same path and type. */
  constructor(rules: Iterable<PathRule<T>>) {
    for (const rule of rules) {
      if (rule.pathType === 'Regex') {
        // The config was validated, so the pattern compiles.
        const compiled = compileLocationRegex(rule.path);
        if (compiled.ok) {
          this.#regex ??= [];
          this.#regex.push({ re: compiled.value, value: rule.value });
        }
        continue;
      }
      if (rule.pathType === 'Exact') {
        if (!this.#exact.has(rule.path)) this.#exact.set(rule.path, rule.value);
        continue;
      }
      let node = this.#root;
      for (const seg of segments(rule.path)) {
        node.children ??= new Map();
        let next = node.children.get(seg);
        if (next === undefined) {
          next = { children: null, value: undefined };
          node.children.set(seg, next);
        }
        node = next;
      }
      if (node.value === undefined) node.value = rule.value;
    }
  }

  /**
   * The longest matching rule for a normalised path. An Exact match is as long as the path
   * itself, so it beats every Prefix match; ties at equal length go to Exact as well. As in nginx,
   * the first Regex route that matches beats every Prefix match.
   */
  match(path: string): T | undefined {
    const exact = this.#exact.get(path);
    if (exact !== undefined) return exact;
    if (this.#regex !== null) {
      for (const r of this.#regex) if (r.re.matcher(path).find()) return r.value;
    }
    let node = this.#root;
    let best = node.value;
    let i = 1;
    const len = path.length;
    while (i < len) {
      let j = path.indexOf('/', i);
      if (j === -1) j = len;
      if (j === i || node.children === null) break;
      const next = node.children.get(path.slice(i, j));
      if (next === undefined) break;
      node = next;
      if (node.value !== undefined) best = node.value;
      i = j + 1;
    }
    return best;
  }
}

function segments(path: string): string[] {
  return path.split('/').filter((s) => s !== '');
}

export interface HostRule<T> {
  kind: 'exact' | 'wildcard' | 'any';
  /** Lower-case; `*.example.com` for wildcards, `*` for any. */
  host: string;
  value: T;
}

/** An overlay entry: the host is gone. */
const GONE: unique symbol = Symbol('gone');

interface HostMaps<T> {
  exact: Map<string, T>;
  /** By suffix: `*.foo.com` is kept as `foo.com`. */
  wildcard: Map<string, T>;
  /** Changes on top of the maps above, which other matchers share. */
  exactOver: Map<string, T | typeof GONE>;
  wildcardOver: Map<string, T | typeof GONE>;
  any: T | undefined;
}

/**
 * Host candidates for a request in precedence order: the exact host, then the one-label
 * wildcard, then the catch-all. The caller tries each until a path matches.
 *
 * A matcher is immutable. `with` derives one with some hosts replaced or removed that shares this
 * one's maps and keeps the changes in a small overlay, so a config change to one host of 10,000
 * does not copy 10,000 map entries; once the overlay outgrows a share of the maps, they are
 * copied with it merged in.
 */
export class HostMatcher<T> {
  #m: HostMaps<T>;

  /** Earlier rules win over later ones for the same host. */
  constructor(rules: Iterable<HostRule<T>>) {
    const m: HostMaps<T> = {
      exact: new Map(),
      wildcard: new Map(),
      exactOver: new Map(),
      wildcardOver: new Map(),
      any: undefined,
    };
    for (const rule of rules) {
      if (rule.kind === 'exact') {
        if (!m.exact.has(rule.host)) m.exact.set(rule.host, rule.value);
      } else if (rule.kind === 'wildcard') {
        const suffix = rule.host.slice(2);
        if (!m.wildcard.has(suffix)) m.wildcard.set(suffix, rule.value);
      } else {
        m.any ??= rule.value;
      }
    }
    this.#m = m;
  }

  /**
   * This matcher with each listed host set to its value, or removed when the value is undefined
   * (at most one change per host).
   */
  with(changes: Iterable<{ kind: HostRule<T>['kind']; host: string; value: T | undefined }>): HostMatcher<T> {
    const m = this.#m;
    const exactOver = new Map(m.exactOver);
    const wildcardOver = new Map(m.wildcardOver);
    let any = m.any;
    for (const c of changes) {
      if (c.kind === 'exact') exactOver.set(c.host, c.value ?? GONE);
      else if (c.kind === 'wildcard') wildcardOver.set(c.host.slice(2), c.value ?? GONE);
      else any = c.value;
    }
    const next = new HostMatcher<T>([]);
    const shared = m.exact.size + m.wildcard.size;
    next.#m =
      exactOver.size + wildcardOver.size <= Math.max(64, shared >> 5)
        ? { exact: m.exact, wildcard: m.wildcard, exactOver, wildcardOver, any }
        : {
            exact: merged(m.exact, exactOver),
            wildcard: merged(m.wildcard, wildcardOver),
            exactOver: new Map(),
            wildcardOver: new Map(),
            any,
          };
    return next;
  }

  get any(): T | undefined {
    return this.#m.any;
  }

  exact(host: string): T | undefined {
    const m = this.#m;
    if (m.exactOver.size !== 0) {
      const over = m.exactOver.get(host);
      if (over !== undefined) return over === GONE ? undefined : over;
    }
    return m.exact.get(host);
  }

  /** `*.foo.com` matches `bar.foo.com` only: exactly one label in front of the suffix. */
  wildcard(host: string): T | undefined {
    const m = this.#m;
    if (m.wildcard.size === 0 && m.wildcardOver.size === 0) return undefined;
    const dot = host.indexOf('.');
    if (dot <= 0) return undefined;
    return this.#wildcardSuffix(host.slice(dot + 1));
  }

  #wildcardSuffix(suffix: string): T | undefined {
    const m = this.#m;
    if (m.wildcardOver.size !== 0) {
      const over = m.wildcardOver.get(suffix);
      if (over !== undefined) return over === GONE ? undefined : over;
    }
    return m.wildcard.get(suffix);
  }
}

function merged<T>(base: Map<string, T>, over: Map<string, T | typeof GONE>): Map<string, T> {
  const out = new Map(base);
  for (const [key, value] of over) {
    if (value === GONE) out.delete(key);
    else out.set(key, value);
  }
  return out;
}
