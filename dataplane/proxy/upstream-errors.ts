// What went wrong talking to an upstream, in the few kinds that decide the answer: the status
// code, whether the endpoint is ejected, and whether the request may be retried elsewhere.

export type UpstreamErrorKind =
  | 'connect_refused'
  | 'connect_timeout'
  | 'connect_failed'
  | 'response_timeout'
  | 'reset'
  | 'tls'
  | 'protocol'
  | 'closed'
  | 'body_too_large'
  | 'client_aborted'
  | 'other';

export class BodyTooLargeError extends Error {
  readonly code = 'SLUICE_BODY_TOO_LARGE';
  constructor(limit: number) {
    super(`request body larger than ${limit} bytes`);
  }
}

export class ClientGoneError extends Error {
  readonly code = 'SLUICE_CLIENT_GONE';
  constructor() {
    super('client went away');
  }
}

export function classifyUpstreamError(err: unknown): UpstreamErrorKind {
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code !== 'string') return 'other';
  switch (code) {
    case 'ECONNREFUSED':
      return 'connect_refused';
    case 'UND_ERR_CONNECT_TIMEOUT':
    case 'ETIMEDOUT':
      return 'connect_timeout';
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
    case 'EHOSTDOWN':
    case 'EADDRNOTAVAIL':
    case 'ENOTFOUND':
      return 'connect_failed';
    case 'UND_ERR_HEADERS_TIMEOUT':
    case 'UND_ERR_BODY_TIMEOUT':
      return 'response_timeout';
    case 'ECONNRESET':
    case 'EPIPE':
    case 'UND_ERR_SOCKET':
      return 'reset';
    case 'UND_ERR_CLOSED':
    case 'UND_ERR_DESTROYED':
      return 'closed';
    case 'SLUICE_BODY_TOO_LARGE':
      return 'body_too_large';
    case 'SLUICE_CLIENT_GONE':
    case 'UND_ERR_ABORTED':
    case 'ECONNABORTED':
    case 'ERR_STREAM_PREMATURE_CLOSE':
    case 'UND_ERR_REQ_CONTENT_LENGTH_MISMATCH':
      return 'client_aborted';
    case 'UND_ERR_RES_CONTENT_LENGTH_MISMATCH':
    case 'UND_ERR_INFO':
      return 'protocol';
  }
  if (code.startsWith('HPE_') || code.startsWith('UND_ERR_RES')) return 'protocol';
  if (code.startsWith('ERR_TLS') || code.startsWith('ERR_SSL') || code.includes('CERT')) return 'tls';
  return 'other';
}

/** Connection-level failures: nothing reached the endpoint, which is ejected for a while. */
export function isConnectFailure(kind: UpstreamErrorKind): boolean {
  return (
    kind === 'connect_refused' || kind === 'connect_timeout' || kind === 'connect_failed' || kind === 'tls'
  );
}

export function statusForUpstreamError(kind: UpstreamErrorKind): number {
  switch (kind) {
    case 'connect_timeout':
    case 'response_timeout':
      return 504;
    case 'body_too_large':
      return 413;
    case 'client_aborted':
      return 499;
    default:
      return 502;
  }
}
