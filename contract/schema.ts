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
  /** A Regex route's pattern: visible ASCII without `"`, starting with `/` (see regex.ts). */
  regexPath: '^/[\\x21\\x23-\\x7E]*$',
  /** A rewrite target: a path with `$1`..`$9` and an optional query (see rewriteTarget). */
  rewriteTarget: "^/(?:[A-Za-z0-9\\-._~!$&'()*+,;=:@/?]|%[0-9A-F]{2})*$",
  /** `<namespace>/<service>:<port>`, `@cluster-ip` appended for the Service's ClusterIP as the backend. */
  backendKey: `^${LABEL}/${LABEL}:${PORT_REF}(?:@cluster-ip)?$`,
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
  regexChars: 1_024,
  headerNameChars: 128,
  headerValueChars: 512,
  headerPatternChars: 256,
  cookieNameChars: 128,
  cookieValueChars: 512,
  maxBodyBytes: 2 ** 40,
  connectTimeoutMs: 300_000,
  responseTimeoutMs: 3_600_000,
} as const;

const str = (pattern: string, maxLength: number) => ({ type: 'string', pattern, minLength: 1, maxLength });

const objectRef = str(patterns.objectRef, 63 + 1 + 253);
const backendKey = str(patterns.backendKey, 63 + 1 + 63 + 1 + 15 + '@cluster-ip'.length);
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
        passthrough: {
          type: 'object',
          additionalProperties: false,
          required: ['backend', 'source'],
          properties: {
            backend: backendKey,
            source: {
              type: 'object',
              additionalProperties: false,
              required: ['ingress'],
              properties: { ingress: objectRef },
            },
          },
        },
      },
      // The host's shape follows its kind.
      allOf: [
        {
          // A passthrough host is an exact name whose connections are never terminated.
          if: { required: ['passthrough'] },
          // biome-ignore lint/suspicious/noThenProperty: a JSON Schema keyword, not a promise
          then: {
            properties: { kind: { const: 'exact' }, routes: { maxItems: 0 } },
            not: { required: ['tls'] },
          },
        },
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
        // The pattern bounds the characters; the format (`formats.ts`) says a request can match it
        // (a Regex path: that it compiles, within bounds).
        path: { type: 'string', minLength: 1, maxLength: limits.pathChars },
        pathType: { enum: ['Exact', 'Prefix', 'Regex'] },
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
      if: { properties: { pathType: { const: 'Regex' } } },
      // biome-ignore lint/suspicious/noThenProperty: a JSON Schema keyword, not a promise
      then: {
        properties: { path: { ...str(patterns.regexPath, limits.regexChars), format: 'route-regex' } },
      },
      else: { properties: { path: { ...str(patterns.path, limits.pathChars), format: 'route-path' } } },
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
        redirect: {
          type: 'object',
          additionalProperties: false,
          required: ['code', 'url'],
          properties: {
            code: { enum: [301, 302, 303, 307, 308] },
            // Visible ASCII only: no blanks, no CR/LF, no control characters.
            url: { type: 'string', maxLength: 2048, pattern: '^https?://[\\x21-\\x7E]+$' },
          },
        },
        wwwRedirect: {
          type: 'object',
          additionalProperties: false,
          required: ['code', 'host'],
          properties: {
            code: { enum: [301, 302, 303, 307, 308] },
            // A DNS name in normal form: nothing else can reach the Location header.
            host: {
              type: 'string',
              maxLength: 253,
              pattern: '^[a-z0-9](?:[-a-z0-9]{0,61}[a-z0-9])?(?:\\.[a-z0-9](?:[-a-z0-9]{0,61}[a-z0-9])?)*$',
            },
          },
        },
        sourceRanges: {
          type: 'object',
          additionalProperties: false,
          minProperties: 1,
          properties: {
            allow: {
              type: 'array',
              minItems: 1,
              maxItems: 1000,
              items: { type: 'string', maxLength: 43, pattern: '^[0-9A-Fa-f.:]{2,39}/[0-9]{1,3}$' },
            },
            deny: {
              type: 'array',
              minItems: 1,
              maxItems: 1000,
              items: { type: 'string', maxLength: 43, pattern: '^[0-9A-Fa-f.:]{2,39}/[0-9]{1,3}$' },
            },
          },
        },
        cors: {
          type: 'object',
          additionalProperties: false,
          required: ['allowCredentials', 'allowHeaders', 'allowMethods', 'allowOrigins', 'maxAgeSeconds'],
          properties: {
            allowCredentials: { type: 'boolean' },
            // Comma-separated tokens with optional spaces.
            allowHeaders: {
              type: 'string',
              maxLength: 4096,
              pattern: '^[A-Za-z0-9_-]+(?:, ?[A-Za-z0-9_-]+)*$',
            },
            allowMethods: { type: 'string', maxLength: 1024, pattern: '^[A-Za-z]+(?:, ?[A-Za-z]+)*$' },
            allowOrigins: {
              type: 'array',
              minItems: 1,
              maxItems: 100,
              items: {
                type: 'string',
                maxLength: 300,
                pattern:
                  '^(?:\\*|null|[a-z][a-z0-9+.-]{0,31}://(?:\\*\\.)?[A-Za-z0-9.-]{1,253}(?::[0-9]{1,5})?)$',
              },
            },
            exposeHeaders: {
              type: 'string',
              maxLength: 4096,
              pattern: '^(?:[A-Za-z0-9_-]+|\\*)(?:, ?(?:[A-Za-z0-9_-]+|\\*))*$',
            },
            maxAgeSeconds: { type: 'integer', minimum: 0, maximum: 2147483647 },
          },
        },
        basicAuth: {
          type: 'object',
          additionalProperties: false,
          required: ['realm', 'users'],
          properties: {
            // Printable ASCII without quote or backslash: it is written inside a quoted-string.
            realm: { type: 'string', pattern: '^[ !#-\\[\\]-~]*$', maxLength: 256 },
            users: {
              type: 'array',
              maxItems: 10_000,
              items: {
                type: 'object',
                additionalProperties: false,
                required: ['hash', 'name'],
                properties: {
                  name: str('^[^:\\x00-\\x1f\\x7f]+$', 256),
                  hash: str(
                    '^(?:\\$2[aby]\\$(?:0[4-9]|1[0-2])\\$[./A-Za-z0-9]{53}|\\$apr1\\$[./0-9A-Za-z]{0,8}\\$[./0-9A-Za-z]{22}|\\{SHA\\}[A-Za-z0-9+/]{27}=)$',
                    80,
                  ),
                },
              },
            },
          },
        },
        externalAuth: {
          type: 'object',
          additionalProperties: false,
          required: ['method', 'responseHeaders', 'timeoutMs', 'url'],
          properties: {
            url: str('^https?://[!-~]+$', 2048),
            method: { enum: ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'] },
            signin: str('^https?://[!-~]+$', 2048),
            requestRedirect: str('^[!-~]+$', 2048),
            responseHeaders: {
              type: 'array',
              maxItems: 64,
              uniqueItems: true,
              items: str("^[!#$%&'*+.^_`|~0-9a-z-]+$", limits.headerNameChars),
            },
            timeoutMs: { type: 'integer', minimum: 1, maximum: 300_000 },
          },
        },
        limits: {
          type: 'object',
          additionalProperties: false,
          required: ['exempt', 'rates'],
          properties: {
            connections: { type: 'integer', minimum: 1, maximum: 1_000_000 },
            exempt: {
              type: 'array',
              maxItems: 1024,
              items: str('^[0-9A-Fa-f.:]+/[0-9]{1,3}$', 64),
            },
            rates: {
              type: 'array',
              maxItems: 2,
              items: {
                type: 'object',
                additionalProperties: false,
                required: ['burst', 'per', 'rate'],
                properties: {
                  burst: { type: 'integer', minimum: 0, maximum: 100_000_000 },
                  per: { enum: ['minute', 'second'] },
                  rate: { type: 'integer', minimum: 1, maximum: 1_000_000 },
                },
              },
            },
          },
        },
        rewriteTarget: str(patterns.rewriteTarget, 1_024),
        appRoot: { ...str(patterns.path, 1_024), format: 'route-path' },
        xForwardedPrefix: str(patterns.headerValue, limits.headerValueChars),
        upstreamHost: str('^[A-Za-z0-9](?:[-A-Za-z0-9.]*[A-Za-z0-9])?(?::[0-9]{1,5})?$', 253 + 6),
        affinity: {
          type: 'object',
          additionalProperties: false,
          required: ['mode', 'cookie'],
          properties: {
            mode: { enum: ['balanced', 'persistent'] },
            cookie: {
              type: 'object',
              additionalProperties: false,
              required: ['name'],
              properties: {
                name: str(patterns.cookieName, limits.cookieNameChars),
                // No `;`, `,` or blanks: the value goes into a Set-Cookie attribute.
                path: str('^/[A-Za-z0-9\\-._~/]*$', 256),
                maxAgeSeconds: { type: 'integer', minimum: 1, maximum: 315_360_000 },
                expiresSeconds: { type: 'integer', minimum: 1, maximum: 315_360_000 },
                sameSite: { enum: ['Lax', 'None', 'Strict'] },
                secure: { const: true },
              },
            },
          },
        },
        accessLog: { const: false },
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
              canary: { const: true },
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
      minProperties: 2,
      maxProperties: 2,
      // One condition (header or cookie) and one outcome (a backend or a group of the split).
      oneOf: [{ required: ['backend'] }, { required: ['group'] }],
      properties: {
        header: {
          type: 'object',
          additionalProperties: false,
          required: ['name'],
          minProperties: 2,
          maxProperties: 2,
          properties: {
            name: str(patterns.headerName, limits.headerNameChars),
            value: str(patterns.headerValue, limits.headerValueChars),
            // An RE2 expression (linear time); the data plane refuses one RE2 cannot compile.
            pattern: { type: 'string', minLength: 1, maxLength: limits.headerPatternChars, format: 're2' },
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
        group: { enum: ['canary', 'primary'] },
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
