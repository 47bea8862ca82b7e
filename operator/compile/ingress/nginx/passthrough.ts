// ingress-nginx's TLS passthrough (`ssl-passthrough`): on the TLS port, connections whose
// ClientHello names one of the Ingress's hosts are not terminated; their bytes go to the backend
// of the host's `/` path (ingress.ts checks the rules, claims.ts that no other Ingress routes
// the host, vhosts.ts emits the host).

import { quote } from '../../core/objects.ts';
import type { NginxGroup } from './group.ts';
import { nginxBool } from './redirects.ts';

export const passthroughGroup: NginxGroup = {
  names: ['ssl-passthrough'],
  differences: {
    'ssl-passthrough':
      'only exact hosts with a `/` path; a host in passthrough is served by its Ingress alone (another Ingress routing it is a conflict), and its other paths, TLS section and route annotations have no effect',
  },
  parse(read, out) {
    const value = read.get('ssl-passthrough');
    if (value === undefined) return;
    const on = nginxBool(value);
    if (on === undefined) read.problem('ssl-passthrough', `must be "true" or "false", not ${quote(value)}`);
    else if (on) out.passthrough = true;
  },
};
