// JSON Schema (draft 2020-12) of the compiled config in `types.ts`. The operator validates before
// pushing and the data plane on receipt, both through `validate.ts`.
//
// Every string that reaches the data plane is matched by an anchored allow-list pattern: nothing
// with control characters, CR or LF gets through, except the PEM fields, whose pattern allows
// newlines only between base64 lines. Arrays, maps and strings are bounded. Endpoint addresses and
// route paths also carry a format (`formats.ts`, registered by `validate.ts`): a real IP literal,
// and a path in the normal form requests are matched in.

import { CONFIG_API_VERSION } from './types.ts';

// One DNS label (RFC 1123), lower case.
const LABEL = '[a-z0-9](?:[-a-z0-9]{0,61}[a-z0-9])?';
// A DNS subdomain (RFC 1123), lower case: Kubernetes object names and host names.
const SUBDOMAIN = `${LABEL}(?:\\.${LABEL})*`;
// A Service port as written in an Ingress: a number or an IANA service name.
const PORT_REF = '(?:[0-9]{1,5}|[a-z0-9](?:[-a-z0-9]{0,13}[a-z0-9])?)';

export const patterns = {
  exactHost: `^${SUBDOMAIN}$`,
  wildcardHost: `^\\*\\.${SUBDOMAIN}$`,
  anyHost: '^\\*$',
  /** RFC 3986 path characters; `%XX` escapes only; `%2F`/`%5C` and backslashes are refused elsewhere. */
  path: "^/(?:[A-Za-z0-9\\-._~!$&'()*+,;=:@/]|%[0-9A-F]{2})*$",
  /** `<namespace>/<service>:<port>` */
  backendKey: `^${LABEL}/${LABEL}:${PORT_REF}$`,
  /** `<namespace>/<secretName>` */
  certificateKey: `^${LABEL}/${SUBDOMAIN}$`,
  /** `<namespace>/<name>` of an Ingress or RouteRatio. */
  objectRef: `^${LABEL}/${SUBDOMAIN}$`,
  namespace: `^${LABEL}$`,
  serviceName: `^${LABEL}$`,
  portRef: `^${PORT_REF}$`,
  /** Header names, lower case, letters, digits and dashes (no underscores: they can alias). */
  headerName: '^[a-z0-9](?:[-a-z0-9]*[a-z0-9])?$',
  /** Visible ASCII with inner spaces, no leading or trailing blanks. */
  headerValue: '^[\\x21-\\x7E](?:[\\x20-\\x7E]*[\\x21-\\x7E])?$',
  /** RFC 6265 cookie-name (an RFC 7230 token). */
  cookieName: "^[!#$%&'*+\\-.^_`|~0-9A-Za-z]+$",
  /** RFC 6265 cookie-octet: no blanks, quotes, commas, semicolons or backslashes. */
  cookieValue: '^[\\x21\\x23-\\x2B\\x2D-\\x3A\\x3C-\\x5B\\x5D-\\x7E]+$',
  ipv4: '^(?:(?:25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])\\.){3}(?:25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])$',
  ipv6: '^(?=[0-9a-fA-F:.]*:)[0-9a-fA-F:.]{2,45}$',
  /** One or more PEM blocks, LF line ends, base64 lines of at most 76 characters. */
  pem: '^(?:-----BEGIN [A-Z0-9 ]{1,40}-----\\n(?:[A-Za-z0-9+/=]{1,76}\\n)+-----END [A-Z0-9 ]{1,40}-----\\n)+$',
  version: '^sha256:[0-9a-f]{64}$',
} as const;

export const limits = {
  virtualHosts: 50_000,
  routesPerHost: 10_000,
  backends: 200_000,
  endpointsPerBackend: 5_000,
  splitBackends: 16,
  overrides: 16,
  certificates: 50_000,
  pemChars: 65_536,
  hostChars: 253,
  pathChars: 2_048,
  headerNameChars: 128,
  headerValueChars: 512,
  cookieNameChars: 128,
  cookieValueChars: 512,
  maxBodyBytes: 2 ** 40,
  connectTimeoutMs: 300_000,
  responseTimeoutMs: 3_600_000,
} as const;

const str = (pattern: string, maxLength: number) => ({ type: 'string', pattern, minLength: 1, maxLength });

const objectRef = str(patterns.objectRef, 63 + 1 + 253);
const backendKey = str(patterns.backendKey, 63 + 1 + 63 + 1 + 15);
const certificateKey = str(patterns.certificateKey, 63 + 1 + 253);

export const configSchema = {
  $schema: 'https://json-schema.org/draft/2020-12/schema',
  $id: 'https://sluice.dev/schemas/dataplane-config.json',
  title: 'Sluice data-plane config',
  type: 'object',
  additionalProperties: false,
  required: ['apiVersion', 'version', 'virtualHosts', 'backends', 'certificates'],
  properties: {
    apiVersion: { const: CONFIG_API_VERSION },
    version: { type: 'string', pattern: patterns.version, maxLength: 71 },
    virtualHosts: { type: 'array', maxItems: limits.virtualHosts, items: { $ref: '#/$defs/virtualHost' } },
    defaultRoute: { $ref: '#/$defs/defaultRoute' },
    backends: {
      type: 'object',
      maxProperties: limits.backends,
      propertyNames: backendKey,
      additionalProperties: { $ref: '#/$defs/backend' },
    },
    certificates: {
      type: 'object',
      maxProperties: limits.certificates,
      propertyNames: certificateKey,
      additionalProperties: { $ref: '#/$defs/certificate' },
    },
    defaultCertificate: certificateKey,
  },
  $defs: {
    virtualHost: {
      type: 'object',
      additionalProperties: false,
      required: ['kind', 'host', 'routes'],
      properties: {
        kind: { enum: ['exact', 'wildcard', 'any'] },
        host: { type: 'string', minLength: 1, maxLength: limits.hostChars },
        tls: {
          type: 'object',
          additionalProperties: false,
          required: ['certificate'],
          properties: { certificate: certificateKey },
        },
        routes: { type: 'array', maxItems: limits.routesPerHost, items: { $ref: '#/$defs/route' } },
      },
      // The host's shape follows its kind.
      allOf: [
        {
          if: { properties: { kind: { const: 'exact' } } },
          // biome-ignore lint/suspicious/noThenProperty: a JSON Schema keyword, not a promise
          then: { properties: { host: { pattern: patterns.exactHost } } },
        },
        {
          if: { properties: { kind: { const: 'wildcard' } } },
          // biome-ignore lint/suspicious/noThenProperty: a JSON Schema keyword, not a promise
          then: { properties: { host: { pattern: patterns.wildcardHost } } },
        },
        {
          if: { properties: { kind: { const: 'any' } } },
          // biome-ignore lint/suspicious/noThenProperty: a JSON Schema keyword, not a promise
          then: { properties: { host: { pattern: patterns.anyHost } } },
        },
      ],
    },
    route: {
      type: 'object',
      additionalProperties: false,
      required: ['path', 'pathType', 'source', 'httpsRedirect', 'policy', 'split'],
      properties: {
        // The pattern bounds the characters; the format (`formats.ts`) says a request can match it.
        path: { ...str(patterns.path, limits.pathChars), format: 'route-path' },
        pathType: { enum: ['Exact', 'Prefix'] },
        source: {
          type: 'object',
          additionalProperties: false,
          required: ['ingress', 'rule', 'path'],
          properties: {
            ingress: objectRef,
            rule: { type: 'integer', minimum: 0, maximum: 100_000 },
            path: { type: 'integer', minimum: 0, maximum: 100_000 },
          },
        },
        httpsRedirect: { type: 'boolean' },
        policy: { $ref: '#/$defs/policy' },
        split: { $ref: '#/$defs/split' },
      },
    },
    defaultRoute: {
      type: 'object',
      additionalProperties: false,
      required: ['source', 'policy', 'split'],
      properties: {
        source: {
          type: 'object',
          additionalProperties: false,
          required: ['ingress'],
          properties: { ingress: objectRef },
        },
        policy: { $ref: '#/$defs/policy' },
        split: { $ref: '#/$defs/split' },
      },
    },
    policy: {
      type: 'object',
      additionalProperties: false,
      required: ['maxBodyBytes', 'connectTimeoutMs', 'responseTimeoutMs', 'upstreamProtocol'],
      properties: {
        maxBodyBytes: { type: 'integer', minimum: 0, maximum: limits.maxBodyBytes },
        connectTimeoutMs: { type: 'integer', minimum: 1, maximum: limits.connectTimeoutMs },
        responseTimeoutMs: { type: 'integer', minimum: 1, maximum: limits.responseTimeoutMs },
        upstreamProtocol: { enum: ['http', 'https'] },
        // -- redirects --
        // -- access --
        // -- cors --
        // -- auth --
        // -- limits --
        // -- rewrite --
        // -- upstream --
      },
    },
    split: {
      type: 'object',
      additionalProperties: false,
      required: ['mode', 'overrides', 'backends'],
      properties: {
        mode: { enum: ['weighted', 'sticky'] },
        sticky: {
          type: 'object',
          additionalProperties: false,
          minProperties: 1,
          maxProperties: 1,
          properties: {
            cookie: { $ref: '#/$defs/namedCookie' },
            header: { $ref: '#/$defs/namedHeader' },
          },
        },
        overrides: { type: 'array', maxItems: limits.overrides, items: { $ref: '#/$defs/override' } },
        backends: {
          type: 'array',
          minItems: 1,
          maxItems: limits.splitBackends,
          items: {
            type: 'object',
            additionalProperties: false,
            required: ['name', 'backend', 'weight'],
            properties: {
              name: str(patterns.serviceName, 63),
              backend: backendKey,
              weight: { type: 'integer', minimum: 0, maximum: 10_000 },
            },
          },
        },
        routeRatio: objectRef,
      },
      // `sticky` is present exactly when the mode is sticky.
      if: { properties: { mode: { const: 'sticky' } } },
      // biome-ignore lint/suspicious/noThenProperty: a JSON Schema keyword, not a promise
      then: { required: ['sticky'] },
      else: { not: { required: ['sticky'] } },
    },
    override: {
      type: 'object',
      additionalProperties: false,
      required: ['backend'],
      minProperties: 2,
      maxProperties: 2,
      properties: {
        header: {
          type: 'object',
          additionalProperties: false,
          required: ['name', 'value'],
          properties: {
            name: str(patterns.headerName, limits.headerNameChars),
            value: str(patterns.headerValue, limits.headerValueChars),
          },
        },
        cookie: {
          type: 'object',
          additionalProperties: false,
          required: ['name', 'value'],
          properties: {
            name: str(patterns.cookieName, limits.cookieNameChars),
            value: str(patterns.cookieValue, limits.cookieValueChars),
          },
        },
        backend: backendKey,
      },
    },
    namedCookie: {
      type: 'object',
      additionalProperties: false,
      required: ['name'],
      properties: { name: str(patterns.cookieName, limits.cookieNameChars) },
    },
    namedHeader: {
      type: 'object',
      additionalProperties: false,
      required: ['name'],
      properties: { name: str(patterns.headerName, limits.headerNameChars) },
    },
    backend: {
      type: 'object',
      additionalProperties: false,
      required: ['service', 'endpoints'],
      properties: {
        service: {
          type: 'object',
          additionalProperties: false,
          required: ['namespace', 'name', 'port'],
          properties: {
            namespace: str(patterns.namespace, 63),
            name: str(patterns.serviceName, 63),
            port: str(patterns.portRef, 15),
          },
        },
        endpoints: {
          type: 'array',
          maxItems: limits.endpointsPerBackend,
          items: { $ref: '#/$defs/endpoint' },
        },
      },
    },
    endpoint: {
      type: 'object',
      additionalProperties: false,
      required: ['address', 'port', 'ready', 'serving', 'terminating'],
      properties: {
        // The patterns bound the characters; the format (`formats.ts`) says it is a real literal.
        address: {
          type: 'string',
          maxLength: 45,
          anyOf: [{ pattern: patterns.ipv4 }, { pattern: patterns.ipv6 }],
          format: 'endpoint-address',
        },
        port: { type: 'integer', minimum: 1, maximum: 65_535 },
        ready: { type: 'boolean' },
        serving: { type: 'boolean' },
        terminating: { type: 'boolean' },
      },
    },
    certificate: {
      type: 'object',
      additionalProperties: false,
      required: ['certPem', 'keyPem'],
      properties: {
        certPem: str(patterns.pem, limits.pemChars),
        keyPem: str(patterns.pem, limits.pemChars),
      },
    },
  },
} as const;

const CONFIG_ID = configSchema.$id;
const { $defs: _defs, ...configTop } = configSchema;

/**
 * The config schema without descending into its pieces (virtual hosts, backends, certificates,
 * default route): counts, apiVersion, version and key patterns only. `ConfigValidator` checks each
 * piece against its `$defs` entry separately, once per piece object.
 */
export const configFrameSchema = {
  ...configTop,
  $id: 'https://sluice.dev/schemas/dataplane-config-frame.json',
  title: 'Sluice data-plane config, without its pieces and record keys',
  properties: {
    ...configTop.properties,
    virtualHosts: { type: 'array', maxItems: limits.virtualHosts },
    defaultRoute: { type: 'object' },
    backends: { type: 'object' },
    certificates: { type: 'object' },
  },
} as const;

/** The key schemas of the config's records (the frame leaves keys and counts to the validator). */
export const keySchemas = { backend: backendKey, certificate: certificateKey } as const;

/** The JSON pointer of a piece's schema, for `ajv.getSchema`. */
export const pieceSchemaRef = {
  virtualHost: `${CONFIG_ID}#/$defs/virtualHost`,
  backend: `${CONFIG_ID}#/$defs/backend`,
  certificate: `${CONFIG_ID}#/$defs/certificate`,
  defaultRoute: `${CONFIG_ID}#/$defs/defaultRoute`,
} as const;

/** Any virtual host name: exact, one-label wildcard or `*`. */
const anyHost = {
  type: 'string',
  minLength: 1,
  maxLength: limits.hostChars,
  pattern: `^(?:\\*|(?:\\*\\.)?${SUBDOMAIN})$`,
};

const version = { type: 'string', pattern: patterns.version, maxLength: 71 };

/** A piece record's change: entries added or replaced, keys removed. */
const recordChange = (key: object, piece: string, maxItems: number) => ({
  type: 'object',
  additionalProperties: false,
  required: ['set', 'remove'],
  properties: {
    set: {
      type: 'object',
      maxProperties: maxItems,
      propertyNames: key,
      additionalProperties: { $ref: piece },
    },
    remove: { type: 'array', maxItems, items: key },
  },
});

/**
 * A `ConfigPatch` (`patch.ts`): the pieces it sets are checked against the config schema's own
 * `$defs`, and the keys it sets or removes against the config's key patterns.
 */
export const patchSchema = {
  $schema: 'https://json-schema.org/draft/2020-12/schema',
  $id: 'https://sluice.dev/schemas/dataplane-patch.json',
  title: 'Sluice data-plane config patch',
  type: 'object',
  additionalProperties: false,
  required: ['apiVersion', 'base', 'version', 'virtualHosts', 'backends', 'certificates'],
  properties: {
    apiVersion: { const: CONFIG_API_VERSION },
    base: version,
    version,
    virtualHosts: {
      type: 'object',
      additionalProperties: false,
      required: ['set', 'remove'],
      properties: {
        set: { type: 'array', maxItems: limits.virtualHosts, items: { $ref: pieceSchemaRef.virtualHost } },
        remove: { type: 'array', maxItems: limits.virtualHosts, items: anyHost },
      },
    },
    backends: recordChange(backendKey, pieceSchemaRef.backend, limits.backends),
    certificates: recordChange(certificateKey, pieceSchemaRef.certificate, limits.certificates),
    // null: the default route or certificate went away.
    defaultRoute: { if: { type: 'null' }, else: { $ref: pieceSchemaRef.defaultRoute } },
    defaultCertificate: { if: { type: 'null' }, else: certificateKey },
  },
} as const;
