import { OneAuthError } from './errors.js';
import { type FetchLike, requestJson } from './http.js';

export interface Jwk {
  kty: string;
  kid?: string;
  alg?: string;
  use?: string;
  crv?: string;
  [k: string]: unknown;
}

export type JwtClaims = Record<string, unknown> & {
  iss?: string;
  sub?: string;
  aud?: string | string[];
  exp?: number;
  iat?: number;
  nbf?: number;
  nonce?: string;
  scope?: string;
  client_id?: string;
};

const invalid = (msg: string) => new OneAuthError('authentication', 'invalid_token', msg);

export function base64UrlDecode(s: string): Uint8Array {
  const b64 = s.replace(/-/g, '+').replace(/_/g, '/').padEnd(Math.ceil(s.length / 4) * 4, '=');
  const bin = atob(b64);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

export function base64UrlEncode(bytes: Uint8Array): string {
  let bin = '';
  for (const b of bytes) bin += String.fromCharCode(b);
  return btoa(bin).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

const decodeJson = (part: string): Record<string, unknown> => {
  try {
    const v = JSON.parse(new TextDecoder().decode(base64UrlDecode(part)));
    if (typeof v === 'object' && v !== null) return v;
  } catch {}
  throw invalid('The token is not a JWT.');
};

/** A JWT's header and claims, unverified. */
export function decodeJwt(token: string): { header: Record<string, unknown>; claims: JwtClaims } {
  const parts = token.split('.');
  if (parts.length !== 3) throw invalid('The token is not a JWT.');
  return { header: decodeJson(parts[0]), claims: decodeJson(parts[1]) as JwtClaims };
}

const ALGS: Record<string, { importAlg: AlgorithmIdentifier | RsaHashedImportParams | EcKeyImportParams; verifyAlg: AlgorithmIdentifier | EcdsaParams }> = {
  RS256: { importAlg: { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' }, verifyAlg: { name: 'RSASSA-PKCS1-v1_5' } },
  ES256: { importAlg: { name: 'ECDSA', namedCurve: 'P-256' }, verifyAlg: { name: 'ECDSA', hash: 'SHA-256' } },
  EdDSA: { importAlg: { name: 'Ed25519' }, verifyAlg: { name: 'Ed25519' } },
};

/**
 * The issuer's signing keys from its JWKS URL, cached. An unknown `kid`
 * refetches the set (a key rotation), at most once per `minRefetchMs`, so
 * tokens with made-up kids cannot make us hammer the issuer.
 */
export class JwksCache {
  private keys: Jwk[] | null = null;
  private lastFetch = -Infinity;
  private inflight: Promise<Jwk[]> | null = null;

  constructor(
    private readonly jwksUri: string | (() => Promise<string>),
    private readonly fetchImpl: FetchLike = (u, i) => fetch(u, i),
    private readonly minRefetchMs = 30_000,
    private readonly now: () => number = () => Date.now(),
  ) {}

  private async load(): Promise<Jwk[]> {
    this.inflight ??= (async () => {
      try {
        const uri = typeof this.jwksUri === 'string' ? this.jwksUri : await this.jwksUri();
        this.lastFetch = this.now();
        const set = await requestJson<{ keys: Jwk[] }>(this.fetchImpl, uri);
        this.keys = Array.isArray(set.keys) ? set.keys : [];
        return this.keys;
      } finally {
        this.inflight = null;
      }
    })();
    return this.inflight;
  }

  /** The key for `kid` (or the only key when the token names none). */
  async key(kid: string | undefined, alg: string): Promise<Jwk> {
    const find = (keys: Jwk[]) =>
      keys.find((k) => (kid === undefined ? true : k.kid === kid) && (k.alg === undefined || k.alg === alg) && k.use !== 'enc');
    let found = this.keys && find(this.keys);
    if (!found && (this.keys === null || this.now() - this.lastFetch >= this.minRefetchMs)) found = find(await this.load());
    if (!found) throw invalid(`No signing key ${kid ?? ''} for ${alg} in the issuer's JWKS.`);
    return found;
  }
}

export interface VerifyOptions {
  issuer: string;
  /** The token must name this audience (a client id for id_tokens). */
  audience?: string;
  /** Expected `typ` header (case-insensitive), e.g. `at+jwt` for RFC 9068 access tokens. */
  typ?: string;
  nonce?: string;
  /** Clock tolerance in seconds. */
  leewaySecs?: number;
  now?: number;
}

/** Checks a JWT's signature against the JWKS and its iss/aud/exp/nbf/nonce; answers its claims. */
export async function verifyJwt(token: string, jwks: JwksCache, opts: VerifyOptions): Promise<JwtClaims> {
  const { header, claims } = decodeJwt(token);
  const alg = String(header.alg);
  const spec = ALGS[alg];
  if (!spec) throw invalid(`Unsupported JWT alg ${alg}.`);
  if (opts.typ !== undefined && String(header.typ ?? '').toLowerCase() !== opts.typ.toLowerCase()) {
    throw invalid(`JWT typ must be ${opts.typ}.`);
  }
  const jwk = await jwks.key(typeof header.kid === 'string' ? header.kid : undefined, alg);
  const { alg: _a, use: _u, key_ops: _k, ...keyData } = jwk;
  const key = await crypto.subtle.importKey('jwk', keyData as JsonWebKey, spec.importAlg, false, ['verify']);
  const [h, p, s] = token.split('.');
  const ok = await crypto.subtle.verify(spec.verifyAlg, key, base64UrlDecode(s) as BufferSource, new TextEncoder().encode(`${h}.${p}`));
  if (!ok) throw invalid('The JWT signature does not verify.');

  const now = Math.floor((opts.now ?? Date.now()) / 1000);
  const leeway = opts.leewaySecs ?? 30;
  if (claims.iss !== opts.issuer) throw invalid(`JWT iss ${String(claims.iss)} is not ${opts.issuer}.`);
  if (opts.audience !== undefined) {
    const aud = Array.isArray(claims.aud) ? claims.aud : [claims.aud];
    if (!aud.includes(opts.audience)) throw invalid(`JWT aud does not include ${opts.audience}.`);
  }
  if (typeof claims.exp !== 'number' || claims.exp + leeway < now) throw invalid('The JWT has expired.');
  if (typeof claims.nbf === 'number' && claims.nbf - leeway > now) throw invalid('The JWT is not valid yet.');
  if (opts.nonce !== undefined && claims.nonce !== opts.nonce) throw invalid('The id_token nonce does not match.');
  return claims;
}
