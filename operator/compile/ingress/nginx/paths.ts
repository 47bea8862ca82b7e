// ingress-nginx's path annotations: `use-regex` (paths are RE2 patterns), `rewrite-target` (the
// path sent upstream, from the pattern's groups), `app-root` (302 from `/`) and
// `x-forwarded-prefix` (a request header for the upstream). Regex mode spreads to every path of
// the Ingress's hosts when the virtual host is built (vhosts.ts).

import { patterns } from '../../../../contract/schema.ts';
import { quote } from '../../core/objects.ts';
import { parsePath } from '../paths.ts';
import type { NginxGroup, NginxReader, SettingsBuilder } from './group.ts';

const MAX_TARGET = 1024;
const TARGET = new RegExp(patterns.rewriteTarget);
const HEADER_VALUE = new RegExp(patterns.headerValue);

/** Go's strconv.ParseBool, which ingress-nginx reads booleans with. */
function parseBool(value: string): boolean | undefined {
  if (['1', 't', 'T', 'TRUE', 'true', 'True'].includes(value)) return true;
  if (['0', 'f', 'F', 'FALSE', 'false', 'False'].includes(value)) return false;
  return undefined;
}

function shown(value: string): string {
  return quote(value, 100);
}

function readRewriteTarget(read: NginxReader): string | undefined {
  const value = read.get('rewrite-target');
  if (value === undefined || value === '') return undefined;
  if (value.length > MAX_TARGET) {
    read.problem('rewrite-target', `is longer than ${MAX_TARGET} characters`);
    return undefined;
  }
  if (!TARGET.test(value)) {
    read.problem(
      'rewrite-target',
      `must be a path starting with "/" (letters, digits, "-._~!$&'()*+,;=:@/?", %XX escapes), not ${shown(value)}; redirects to other URLs are not served`,
    );
    return undefined;
  }
  // nginx would read any other `$name` as one of its variables: only the pattern's groups are served.
  const dollar = /\$(?![1-9])/.exec(value);
  if (dollar !== null) {
    read.problem('rewrite-target', `may use only "$1".."$9" (groups of the path), not ${shown(value)}`);
    return undefined;
  }
  return value;
}

export const pathsGroup: NginxGroup = {
  names: ['use-regex', 'rewrite-target', 'app-root', 'x-forwarded-prefix'],
  differences: {
    'use-regex':
      'patterns are RE2 (as ingress-nginx documents), matched against the normalised path with percent-escapes other than of unreserved characters kept, not fully decoded as nginx does',
    'app-root': 'redirects only requests that reach a route of this Ingress, after its access checks',
  },
  parse(read: NginxReader, out: SettingsBuilder): void {
    const useRegex = read.get('use-regex');
    let regex = false;
    if (useRegex !== undefined) {
      const parsed = parseBool(useRegex);
      if (parsed === undefined)
        read.problem('use-regex', `must be "true" or "false", not ${shown(useRegex)}`);
      else regex = parsed;
    }
    const target = readRewriteTarget(read);
    if (target !== undefined) {
      out.policy.rewriteTarget = target;
      regex = true;
    } else if (read.get('rewrite-target') !== undefined && read.get('rewrite-target') !== '') regex = true;
    if (regex) out.regexPaths = true;

    const appRoot = read.get('app-root');
    if (appRoot !== undefined && appRoot !== '') {
      const path = appRoot.length <= MAX_TARGET ? parsePath(appRoot, 'Exact') : undefined;
      if (path === undefined || !path.ok) {
        read.problem(
          'app-root',
          `must be a path starting with "/"${path && !path.ok ? ` (${path.message})` : ` of at most ${MAX_TARGET} characters`}, not ${shown(appRoot)}`,
        );
      } else out.policy.appRoot = path.value.path;
    }

    const prefix = read.get('x-forwarded-prefix');
    if (prefix !== undefined && prefix !== '') {
      if (prefix.length > 512 || !HEADER_VALUE.test(prefix)) {
        read.problem(
          'x-forwarded-prefix',
          `must be at most 512 visible ASCII characters (no control characters or line breaks), not ${shown(prefix)}`,
        );
      } else out.policy.xForwardedPrefix = prefix;
    }
  },
};
