import { type FetchLike, JwksCache, type JwtClaims, OneAuthError, decodeJwt, postJson, verifyJwt } from '@oneauth/core';

export interface VerifierOptions {
  /** OneAuth's issuer URL. */
  issuer: string;
  /** Accept only tokens issued to these clients (a JWT's `aud`, an opaque token's `client_id`). */
  audience?: string | string[];
  /** How long an opaque token's positive answer is reused. Default 5 000 ms: revocation takes effect within this. */
  opaqueCacheMs?: number;
  /** At least this long between JWKS refetches for an unknown `kid`. Default 30 000 ms. */
  jwksRefetchMs?: number;
  /** Clock tolerance for JWT `exp`/`nbf`, in seconds. Default 30. */
  leewaySecs?: number;
  fetch?: FetchLike;
  now?: () => number;
}

/** What a valid access token says. */
export interface AccessTokenInfo {
  format: 'jwt' | 'opaque';
  sub: string;
  clientId: string | undefined;
  scopes: string[];
  /** Expiry, epoch seconds. */
  exp: number | undefined;
  /** The JWT's claims, or the verify endpoint's answer. */
  claims: Record<string, unknown>;
}

interface VerifyAnswer {
  active: boolean;
  sub?: string;
  exp?: number;
  iat?: number;
  scope?: string;
  client_id?: string;
  token_type?: string;
}

const invalid = (msg: string) => new OneAuthError('authentication', 'invalid_token', msg);
const scopesOf = (s: unknown) => (typeof s === 'string' && s ? s.split(' ') : []);

/** `true` when the token is a JWS of type `at+jwt` (RFC 9068); anything else goes to the verify endpoint. */
function isJwtAccessToken(token: string): boolean {
  if (token.split('.').length !== 3) return false;
  try {
    return String(decodeJwt(token).header.typ).toLowerCase() === 'at+jwt';
  } catch {
    return false;
  }
}

/**
 * Verifies OneAuth access tokens. JWT access tokens are checked locally
 * against the issuer's JWKS (cached; refetched for an unknown `kid`, at most
 * once per `jwksRefetchMs`); opaque ones through `POST /oauth/token/verify`,
 * whose positive answers are kept `opaqueCacheMs` (a few seconds, so a
 * revoked token is refused soon after).
 */
export class TokenVerifier {
  readonly issuer: string;
  private readonly fetchImpl: FetchLike;
  private readonly jwks: JwksCache;
  private readonly cache = new Map<string, { until: number; info: AccessTokenInfo }>();
  private readonly now: () => number;

  constructor(private readonly o: VerifierOptions) {
    this.issuer = o.issuer.replace(/\/+$/, '');
    this.fetchImpl = o.fetch ?? ((u, i) => globalThis.fetch(u, i));
    this.now = o.now ?? (() => Date.now());
    this.jwks = new JwksCache(`${this.issuer}/.well-known/jwks.json`, this.fetchImpl, o.jwksRefetchMs ?? 30_000, this.now);
  }

  async verify(token: string): Promise<AccessTokenInfo> {
    if (!token) throw invalid('No access token.');
    const info = isJwtAccessToken(token) ? await this.verifyJwt(token) : await this.verifyOpaque(token);
    const audience = this.o.audience === undefined ? undefined : ([] as string[]).concat(this.o.audience);
    if (audience && !audience.includes(info.clientId ?? '')) throw invalid('The token was issued to another client.');
    return info;
  }

  private async verifyJwt(token: string): Promise<AccessTokenInfo> {
    const claims: JwtClaims = await verifyJwt(token, this.jwks, {
      issuer: this.issuer,
      typ: 'at+jwt',
      leewaySecs: this.o.leewaySecs,
      now: this.now(),
    });
    return {
      format: 'jwt',
      sub: String(claims.sub),
      clientId: typeof claims.client_id === 'string' ? claims.client_id : undefined,
      scopes: scopesOf(claims.scope),
      exp: claims.exp,
      claims,
    };
  }

  private async verifyOpaque(token: string): Promise<AccessTokenInfo> {
    const now = this.now();
    const hit = this.cache.get(token);
    if (hit && hit.until > now) return hit.info;
    this.cache.delete(token);
    const a = await postJson<VerifyAnswer>(this.fetchImpl, `${this.issuer}/oauth/token/verify`, { token });
    if (!a.active || !a.sub) throw invalid('The access token is not active.');
    const info: AccessTokenInfo = { format: 'opaque', sub: a.sub, clientId: a.client_id, scopes: scopesOf(a.scope), exp: a.exp, claims: { ...a } };
    const ttl = this.o.opaqueCacheMs ?? 5_000;
    // Never past the token's own expiry.
    const until = Math.min(now + ttl, a.exp !== undefined ? a.exp * 1000 : Infinity);
    if (ttl > 0) {
      if (this.cache.size > 10_000) this.cache.clear();
      this.cache.set(token, { until, info });
    }
    return info;
  }
}

const verifiers = new Map<string, TokenVerifier>();

/** One-call form: verifies with a verifier shared per issuer (default options). */
export function verifyAccessToken(token: string, options: VerifierOptions): Promise<AccessTokenInfo> {
  const key = JSON.stringify([options.issuer, options.audience, options.opaqueCacheMs, options.jwksRefetchMs]);
  let v = verifiers.get(key);
  if (!v || options.fetch || options.now) v = new TokenVerifier(options);
  if (!options.fetch && !options.now) verifiers.set(key, v);
  return v.verify(token);
}
