/**
 * OneAuth answers errors as `{error, error_description, code}`; the code's
 * range says what kind of failure it is (docs/errors.md).
 */
export type ErrorKind = 'request' | 'authentication' | 'permission' | 'rate_limited' | 'server' | 'network' | 'protocol';

export class OneAuthError extends Error {
  readonly kind: ErrorKind;
  /** OAuth2 / OneAuth error name, e.g. `invalid_grant`. */
  readonly error: string;
  /** OneAuth's numeric code (4006 …), when the server gave one. */
  readonly code: number | undefined;
  /** HTTP status, when there was an answer. */
  readonly status: number | undefined;

  constructor(kind: ErrorKind, error: string, message: string, opts: { code?: number; status?: number; cause?: unknown } = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'OneAuthError';
    this.kind = kind;
    this.error = error;
    this.code = opts.code;
    this.status = opts.status;
  }
}

/** The kind of an error from its code's range, else from the HTTP status. */
export function errorKind(code: number | undefined, status: number | undefined): ErrorKind {
  if (status === 429) return 'rate_limited';
  if (code !== undefined) {
    if (code >= 2001 && code <= 2999) return 'authentication';
    if (code >= 3001 && code <= 3999) return 'permission';
    if (code >= 4001 && code <= 4999) return 'request';
    if (code >= 5001 && code <= 5999) return 'server';
  }
  if (status === 401) return 'authentication';
  if (status === 403) return 'permission';
  if (status !== undefined && status >= 500) return 'server';
  return 'request';
}

/** A typed error from a non-2xx answer's status and (JSON, maybe) body. */
export function errorFromBody(status: number, body: unknown): OneAuthError {
  const b = (typeof body === 'object' && body !== null ? body : {}) as Record<string, unknown>;
  const error = typeof b.error === 'string' ? b.error : `http_${status}`;
  const description = typeof b.error_description === 'string' ? b.error_description : `HTTP ${status}`;
  const code = typeof b.code === 'number' ? b.code : undefined;
  return new OneAuthError(errorKind(code, status), error, description, { code, status });
}
