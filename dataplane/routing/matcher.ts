// Host and path lookup whose cost depends on the request, not on the number of routes: a map per
// host kind and, per host, a map of Exact paths plus a trie of Prefix path segments.

export interface PathRule<T> {
  path: string;
  pathType: 'Exact' | 'Prefix';
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

  /** Earlier rules win over later ones with the same path and type. */
  constructor(rules: Iterable<PathRule<T>>) {
    for (const rule of rules) {
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
   * itself, so it beats every Prefix match; ties at equal length go to Exact as well.
   */
  match(path: string): T | undefined {
    const exact = this.#exact.get(path);
    if (exact !== undefined) return exact;
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

/**
 * Host candidates for a request in precedence order: the exact host, then the one-label
 * wildcard, then the catch-all. The caller tries each until a path matches.
 */
export class HostMatcher<T> {
  readonly #exact = new Map<string, T>();
  readonly #wildcard = new Map<string, T>();
  readonly any: T | undefined;

  constructor(rules: Iterable<HostRule<T>>) {
    let any: T | undefined;
    for (const rule of rules) {
      if (rule.kind === 'exact') {
        if (!this.#exact.has(rule.host)) this.#exact.set(rule.host, rule.value);
      } else if (rule.kind === 'wildcard') {
        const suffix = rule.host.slice(2);
        if (!this.#wildcard.has(suffix)) this.#wildcard.set(suffix, rule.value);
      } else {
        any ??= rule.value;
      }
    }
    this.any = any;
  }

  exact(host: string): T | undefined {
    return this.#exact.get(host);
  }

  /** `*.foo.com` matches `bar.foo.com` only: exactly one label in front of the suffix. */
  wildcard(host: string): T | undefined {
    if (this.#wildcard.size === 0) return undefined;
    const dot = host.indexOf('.');
    if (dot <= 0) return undefined;
    return this.#wildcard.get(host.slice(dot + 1));
  }
}
