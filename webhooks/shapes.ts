// Type checks on the reviewed objects before any field is read. The API server has already
// validated the object against its schema, but the webhook is reachable by anything that can reach
// its port, so a wrong type must give a clear deny rather than an exception deep in the compiler.
import { Ajv2020 } from 'ajv/dist/2020.js';
import { pointerToPath, sanitize } from './messages.ts';

const str = { type: 'string' } as const;
const strings = { type: 'array', items: str } as const;
const port = {
  type: 'object',
  properties: { number: { type: 'integer' }, name: str },
} as const;
const metadata = {
  type: 'object',
  required: ['name'],
  properties: {
    name: { type: 'string', minLength: 1, maxLength: 253 },
    namespace: { type: 'string', maxLength: 63 },
    uid: str,
    resourceVersion: str,
    creationTimestamp: str,
    deletionTimestamp: str,
    generation: { type: 'integer' },
    annotations: { type: 'object', additionalProperties: str },
    labels: { type: 'object', additionalProperties: str },
  },
} as const;
const ingressBackend = {
  type: 'object',
  properties: {
    service: { type: 'object', required: ['name'], properties: { name: str, port } },
    resource: { type: 'object', properties: { apiGroup: str, kind: str, name: str } },
  },
} as const;

const ingressSchema = {
  type: 'object',
  required: ['metadata'],
  properties: {
    apiVersion: str,
    kind: str,
    metadata,
    spec: {
      type: 'object',
      properties: {
        ingressClassName: str,
        defaultBackend: ingressBackend,
        tls: {
          type: 'array',
          items: { type: 'object', properties: { hosts: strings, secretName: str } },
        },
        rules: {
          type: 'array',
          items: {
            type: 'object',
            properties: {
              host: str,
              http: {
                type: 'object',
                required: ['paths'],
                properties: {
                  paths: {
                    type: 'array',
                    items: {
                      type: 'object',
                      required: ['backend'],
                      properties: { path: str, pathType: str, backend: ingressBackend },
                    },
                  },
                },
              },
            },
          },
        },
      },
    },
  },
} as const;

const nameValue = {
  type: 'object',
  required: ['name', 'value'],
  properties: { name: str, value: str },
} as const;

const routeRatioSchema = {
  type: 'object',
  required: ['metadata', 'spec'],
  properties: {
    apiVersion: str,
    kind: str,
    metadata,
    spec: {
      type: 'object',
      required: ['service', 'backends'],
      properties: {
        service: { type: 'object', required: ['name', 'port'], properties: { name: str, port } },
        ingresses: strings,
        backends: {
          type: 'array',
          items: {
            type: 'object',
            required: ['name', 'port', 'weight'],
            properties: { name: str, port, weight: { type: 'integer' } },
          },
        },
        sticky: {
          type: 'object',
          properties: {
            cookie: { type: 'object', required: ['name'], properties: { name: str } },
            header: { type: 'object', required: ['name'], properties: { name: str } },
          },
        },
        overrides: {
          type: 'array',
          items: {
            type: 'object',
            required: ['backend'],
            properties: { header: nameValue, cookie: nameValue, backend: str },
          },
        },
      },
    },
  },
} as const;

const ajv = new Ajv2020({ allErrors: false, strict: true });
const validateIngress = ajv.compile(ingressSchema);
const validateRouteRatio = ajv.compile(routeRatioSchema);

function firstError(errors: typeof validateIngress.errors, what: string): string {
  const e = errors?.[0];
  const where = e?.instancePath ? pointerToPath(e.instancePath) : 'object';
  return sanitize(`${what} ${where} ${e?.message ?? 'is invalid'}`, 512);
}

/** Undefined when the object has the types the webhook reads, else the first problem. */
export function ingressShapeError(obj: unknown): string | undefined {
  return validateIngress(obj) ? undefined : firstError(validateIngress.errors, 'Ingress');
}

export function routeRatioShapeError(obj: unknown): string | undefined {
  return validateRouteRatio(obj) ? undefined : firstError(validateRouteRatio.errors, 'RouteRatio');
}
