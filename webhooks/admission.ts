// admission.k8s.io/v1 AdmissionReview: the request shape the webhook accepts and the responses it
// sends. Parsing is a schema check (ajv) so a malformed review is answered with 400 and a reason,
// before any field is used.
import { Ajv2020 } from 'ajv/dist/2020.js';
import { pointerToPath, sanitize } from './messages.ts';

export const REVIEW_API_VERSION = 'admission.k8s.io/v1';

/** 3 MiB, the API server's limit on a request body; a review carries at most an object and its old version. */
export const DEFAULT_BODY_LIMIT = 3 * 1024 * 1024;

export interface GroupVersionKind {
  group: string;
  version: string;
  kind: string;
}

export interface GroupVersionResource {
  group: string;
  version: string;
  resource: string;
}

export type Operation = 'CREATE' | 'UPDATE' | 'DELETE' | 'CONNECT';

export interface AdmissionRequest {
  uid: string;
  kind: GroupVersionKind;
  resource: GroupVersionResource;
  subResource?: string;
  name?: string;
  namespace?: string;
  operation: Operation;
  dryRun?: boolean;
  object?: Record<string, unknown> | null;
  oldObject?: Record<string, unknown> | null;
}

export interface AdmissionReviewRequest {
  apiVersion: typeof REVIEW_API_VERSION;
  kind: 'AdmissionReview';
  request: AdmissionRequest;
}

export interface AdmissionResponse {
  uid: string;
  allowed: boolean;
  status?: { code: number; reason?: string; message: string };
  warnings?: string[];
}

export interface AdmissionReviewResponse {
  apiVersion: typeof REVIEW_API_VERSION;
  kind: 'AdmissionReview';
  response: AdmissionResponse;
}

const nameString = { type: 'string', maxLength: 253 } as const;
const gvk = {
  type: 'object',
  required: ['group', 'version', 'kind'],
  properties: { group: nameString, version: nameString, kind: nameString },
} as const;
const gvr = {
  type: 'object',
  required: ['group', 'version', 'resource'],
  properties: { group: nameString, version: nameString, resource: nameString },
} as const;

const reviewSchema = {
  type: 'object',
  required: ['apiVersion', 'kind', 'request'],
  properties: {
    apiVersion: { const: REVIEW_API_VERSION },
    kind: { const: 'AdmissionReview' },
    request: {
      type: 'object',
      required: ['uid', 'kind', 'resource', 'operation'],
      properties: {
        // The API server sends a UUID; anything printable and short is echoed back unchanged.
        uid: { type: 'string', minLength: 1, maxLength: 128, pattern: '^[A-Za-z0-9._:-]+$' },
        kind: gvk,
        resource: gvr,
        subResource: nameString,
        name: nameString,
        namespace: nameString,
        operation: { enum: ['CREATE', 'UPDATE', 'DELETE', 'CONNECT'] },
        dryRun: { type: 'boolean' },
        object: { type: ['object', 'null'] },
        oldObject: { type: ['object', 'null'] },
      },
    },
  },
} as const;

// allErrors stays off: the first problem is enough for a 400 and bounds the work on hostile input.
const ajv = new Ajv2020({ allErrors: false, strict: true });
const validateReview = ajv.compile(reviewSchema);

export type ParseResult = { ok: true; review: AdmissionReviewRequest } | { ok: false; error: string };

export function parseAdmissionReview(body: unknown): ParseResult {
  if (validateReview(body)) return { ok: true, review: body as unknown as AdmissionReviewRequest };
  const e = validateReview.errors?.[0];
  const where = e?.instancePath ? pointerToPath(e.instancePath) : '(root)';
  const detail = e?.keyword === 'const' || e?.keyword === 'enum' ? ` (${JSON.stringify(e.params)})` : '';
  return {
    ok: false,
    error: sanitize(`malformed AdmissionReview: ${where} ${e?.message ?? 'is invalid'}${detail}`, 512),
  };
}

function wrap(response: AdmissionResponse): AdmissionReviewResponse {
  return { apiVersion: REVIEW_API_VERSION, kind: 'AdmissionReview', response };
}

export function allow(uid: string, warnings: string[] = []): AdmissionReviewResponse {
  return wrap(warnings.length > 0 ? { uid, allowed: true, warnings } : { uid, allowed: true });
}

/** 403 Forbidden: the API server prefixes the message with `admission webhook "<name>" denied the request: `. */
export function deny(
  uid: string,
  message: string,
  warnings: string[] = [],
  code = 403,
  reason = 'Forbidden',
): AdmissionReviewResponse {
  const response: AdmissionResponse = { uid, allowed: false, status: { code, reason, message } };
  if (warnings.length > 0) response.warnings = warnings;
  return wrap(response);
}

/** Fail closed: an error inside the webhook denies the request rather than letting it through. */
export function denyInternal(uid: string, message: string): AdmissionReviewResponse {
  return deny(
    uid,
    `internal error in the Sluice webhook, request denied: ${message}`,
    [],
    500,
    'InternalError',
  );
}
