import { OneAuthError } from '@oneauth/core';
import { type AccessTokenInfo, TokenVerifier, type VerifierOptions } from './verify.js';

/** The parts of node:http's (and Express's) request and response used here. */
export interface RequestLike {
  headers: Record<string, string | string[] | undefined>;
  auth?: AccessTokenInfo;
}
export interface ResponseLike {
  statusCode: number;
  setHeader(name: string, value: string): unknown;
  end(body?: string): unknown;
}
export type Next = (err?: unknown) => void;

export interface RequireAuthOptions {
  /** A verifier to share between routes, or the options to make one. */
  verifier?: TokenVerifier;
  issuer?: string;
  /** Scopes the token must all carry. */
  scope?: string | string[];
  /** `realm` in WWW-Authenticate. */
  realm?: string;
}

const quote = (s: string) => `"${s.replace(/["\\]/g, '')}"`;

/** The token of an `Authorization: Bearer …` header (RFC 6750 §2.1), or null. */
export function bearerToken(req: RequestLike): string | null {
  const h = req.headers.authorization;
  const m = typeof h === 'string' ? /^Bearer +([A-Za-z0-9\-._~+/]+=*)$/i.exec(h.trim()) : null;
  return m ? m[1] : null;
}

function challenge(res: ResponseLike, status: number, params: Record<string, string>, realm?: string) {
  const p = { ...(realm ? { realm } : {}), ...params };
  const value = ['Bearer', Object.entries(p).map(([k, v]) => `${k}=${quote(v)}`).join(', ')].filter(Boolean).join(' ');
  res.statusCode = status;
  res.setHeader('WWW-Authenticate', value);
  res.setHeader('content-type', 'application/json');
  res.setHeader('cache-control', 'no-store');
  res.end(JSON.stringify(params.error ? { error: params.error, error_description: params.error_description } : { error: 'unauthorized' }));
}

/**
 * Middleware that lets a request through only with a valid access token
 * carrying `scope`: `req.auth` is then the token's info. Without a token
 * 401 with a bare `WWW-Authenticate: Bearer`; a bad token 401
 * `invalid_token`; too few scopes 403 `insufficient_scope` (RFC 6750 §3).
 *
 * Express: `app.get('/x', requireAuth({ issuer, scope: 'read' }), handler)`.
 * node:http: `http.createServer(requireAuth({ issuer }, (req, res) => …))`.
 */
export function requireAuth<Req extends RequestLike, Res extends ResponseLike>(
  options: RequireAuthOptions & Partial<VerifierOptions>,
  handler?: (req: Req, res: Res) => unknown,
): (req: Req, res: Res, next?: Next) => Promise<void> {
  const verifier = options.verifier ?? new TokenVerifier(options as VerifierOptions);
  if (!options.verifier && !options.issuer) throw new TypeError('requireAuth needs a verifier or an issuer');
  const needed = options.scope === undefined ? [] : ([] as string[]).concat(options.scope);
  return async (req, res, next) => {
    const token = bearerToken(req);
    if (!token) return challenge(res, 401, {}, options.realm);
    let info: AccessTokenInfo;
    try {
      info = await verifier.verify(token);
    } catch (e) {
      if (e instanceof OneAuthError && e.error === 'invalid_token') {
        return challenge(res, 401, { error: 'invalid_token', error_description: e.message }, options.realm);
      }
      // OneAuth unreachable or broken: not the client's fault.
      if (next && !handler) return next(e);
      res.statusCode = 503;
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ error: 'temporarily_unavailable', error_description: 'The token could not be checked.' }));
      return;
    }
    const missing = needed.filter((s) => !info.scopes.includes(s));
    if (missing.length) {
      return challenge(res, 403, { error: 'insufficient_scope', error_description: `Needs scope ${needed.join(' ')}.`, scope: needed.join(' ') }, options.realm);
    }
    req.auth = info;
    if (handler) await handler(req, res);
    else next?.();
  };
}
