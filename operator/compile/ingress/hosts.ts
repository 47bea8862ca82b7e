// Ingress host names: normalised the way requests are (lower case, no trailing dot, no port), and
// checked against RFC 1123. A wildcard is `*` as the whole first label and matches one label.

export type HostKind = 'exact' | 'wildcard' | 'any';

export interface Host {
  kind: HostKind;
  /** Normalised: `shop.example.com`, `*.example.com` or `*` for rules without a host. */
  host: string;
}

export type HostResult = { ok: true; value: Host } | { ok: false; message: string };

const LABEL = /^[a-z0-9](?:[-a-z0-9]{0,61}[a-z0-9])?$/;
// A host already in normal form (lower case, no port, no trailing dot, valid labels): the usual
// case, accepted by one test.
const NORMAL_HOST = /^[a-z0-9](?:[-a-z0-9]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[-a-z0-9]{0,61}[a-z0-9])?)*$/;

export const ANY_HOST: Host = { kind: 'any', host: '*' };

export function parseHost(raw: unknown): HostResult {
  if (raw === undefined || raw === null || raw === '') return { ok: true, value: ANY_HOST };
  if (typeof raw !== 'string') return { ok: false, message: 'host must be a string' };
  if (raw.length <= 253 && NORMAL_HOST.test(raw)) return { ok: true, value: { kind: 'exact', host: raw } };
  if (raw.length > 300) return { ok: false, message: 'host is longer than 253 characters' };
  let host = raw.toLowerCase();
  const port = /:[0-9]{1,5}$/.exec(host);
  if (port) host = host.slice(0, port.index);
  if (host.endsWith('.')) host = host.slice(0, -1);
  if (host === '' || host === '*') {
    return { ok: false, message: 'host must be a DNS name; leave it out to match any host' };
  }
  if (host.length > 253) return { ok: false, message: 'host is longer than 253 characters' };
  const labels = host.split('.');
  const wildcard = labels[0] === '*';
  const rest = wildcard ? labels.slice(1) : labels;
  for (const label of rest) {
    if (label.includes('*')) {
      return {
        ok: false,
        message: 'a wildcard is allowed only as the whole first label (like *.example.com)',
      };
    }
    if (!LABEL.test(label)) {
      return {
        ok: false,
        message:
          'host must be a DNS name: labels of 1-63 letters, digits and inner dashes, separated by dots ' +
          '(internationalised names in punycode)',
      };
    }
  }
  return { ok: true, value: { kind: wildcard ? 'wildcard' : 'exact', host } };
}

/**
 * Whether a normalised request host (lower case, no port, no trailing dot) is served by a virtual
 * host. A wildcard matches exactly one label. Used by tests and tooling; the data plane matches
 * the same way.
 */
export function hostMatches(vhost: Host, requestHost: string): boolean {
  if (vhost.kind === 'any') return true;
  if (vhost.kind === 'exact') return requestHost === vhost.host;
  const suffix = vhost.host.slice(1); // ".example.com"
  if (!requestHost.endsWith(suffix)) return false;
  const label = requestHost.slice(0, -suffix.length);
  return label.length > 0 && !label.includes('.');
}
