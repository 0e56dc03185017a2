import {
  type FetchLike,
  JwksCache,
  OneAuthError,
  type TokenResponse,
  type TokenSet,
  base64UrlDecode,
  base64UrlEncode,
  postForm,
  postJson,
  requestJson,
  tokenSetFrom,
  verifyJwt,
} from '@oneauth/core';
import type { RequestLike, ResponseLike } from './middleware.js';

export interface BffOptions {
  issuer: string;
  clientId: string;
  /** A confidential client's secret (client_secret_basic); omit for a public client (PKCE only). */
  clientSecret?: string;
  /** This back end's callback, e.g. `https://app.example/auth/callback`; its path is the callback route. */
  redirectUri: string;
  /** At least 32 characters; keys the sealed cookies (AES-GCM). */
  cookieSecret: string;
  scope?: string;
  /** Where the browser lands after logout. Default: the redirect URI's origin. */
  postLogoutRedirectUri?: string;
  /** Where the browser lands after login. Default `/`. */
  afterLogin?: string;
  /** Routes: `${prefix}/login`, `${prefix}/logout`, `${prefix}/me`. Default `/auth`. */
  prefix?: string;
  cookieName?: string;
  /** Refresh this long before expiry. Default 60 000 ms. */
  refreshBeforeExpiryMs?: number;
  fetch?: FetchLike;
}

type Req = RequestLike & { url?: string; method?: string };

interface Session {
  tokens: TokenSet;
  sub: string;
}

const enc = new TextEncoder();

/**
 * The backend-for-frontend of the guide's checklist ("prefer httpOnly
 * cookies"): this server runs the code flow, keeps the tokens sealed
 * (AES-GCM) in an httpOnly, SameSite=Lax cookie, refreshes them, and the
 * browser never sees a token.
 */
export class Bff {
  private readonly issuer: string;
  private readonly fetchImpl: FetchLike;
  private readonly jwks: JwksCache;
  private readonly key: Promise<CryptoKey>;
  private readonly prefix: string;
  private readonly cookie: string;
  private readonly secure: boolean;
  private readonly origin: string;
  private readonly callbackPath: string;

  constructor(private readonly o: BffOptions) {
    if (o.cookieSecret.length < 32) throw new TypeError('cookieSecret must be at least 32 characters');
    this.issuer = o.issuer.replace(/\/+$/, '');
    this.fetchImpl = o.fetch ?? ((u, i) => globalThis.fetch(u, i));
    this.jwks = new JwksCache(`${this.issuer}/.well-known/jwks.json`, this.fetchImpl);
    this.key = crypto.subtle
      .digest('SHA-256', enc.encode(o.cookieSecret))
      .then((raw) => crypto.subtle.importKey('raw', raw, 'AES-GCM', false, ['encrypt', 'decrypt']));
    this.prefix = o.prefix ?? '/auth';
    this.cookie = o.cookieName ?? 'oneauth_session';
    const redirect = new URL(o.redirectUri);
    this.secure = redirect.protocol === 'https:';
    this.origin = redirect.origin;
    this.callbackPath = redirect.pathname;
  }

  // ------------------------------------------------------------ cookies

  private async seal(value: unknown): Promise<string> {
    const iv = crypto.getRandomValues(new Uint8Array(12));
    const ct = new Uint8Array(await crypto.subtle.encrypt({ name: 'AES-GCM', iv }, await this.key, enc.encode(JSON.stringify(value))));
    const out = new Uint8Array(iv.length + ct.length);
    out.set(iv);
    out.set(ct, iv.length);
    return base64UrlEncode(out);
  }

  private async unseal<T>(sealed: string | undefined): Promise<T | null> {
    if (!sealed) return null;
    try {
      const bytes = base64UrlDecode(sealed);
      const pt = await crypto.subtle.decrypt({ name: 'AES-GCM', iv: bytes.slice(0, 12) }, await this.key, bytes.slice(12));
      return JSON.parse(new TextDecoder().decode(pt)) as T;
    } catch {
      return null; // tampered, another key, or garbage: no session
    }
  }

  private cookies(req: Req): Record<string, string> {
    const h = req.headers.cookie;
    const out: Record<string, string> = {};
    for (const part of (Array.isArray(h) ? h.join(';') : (h ?? '')).split(';')) {
      const i = part.indexOf('=');
      if (i > 0) out[part.slice(0, i).trim()] = part.slice(i + 1).trim();
    }
    return out;
  }

  private setCookie(res: ResponseLike, name: string, value: string, maxAgeSecs: number) {
    const attrs = [`${name}=${value}`, 'Path=/', 'HttpOnly', 'SameSite=Lax', `Max-Age=${maxAgeSecs}`];
    if (this.secure) attrs.push('Secure');
    const prev = (res as { getHeader?(n: string): unknown }).getHeader?.('set-cookie');
    const list = Array.isArray(prev) ? prev : prev ? [String(prev)] : [];
    (res.setHeader as (n: string, v: string | string[]) => unknown)('set-cookie', [...list, attrs.join('; ')]);
  }

  private redirect(res: ResponseLike, status: number, to: string) {
    res.statusCode = status;
    res.setHeader('location', to);
    res.setHeader('cache-control', 'no-store');
    res.end();
  }

  private json(res: ResponseLike, status: number, body: unknown) {
    res.statusCode = status;
    res.setHeader('content-type', 'application/json');
    res.setHeader('cache-control', 'no-store');
    res.end(JSON.stringify(body));
  }

  // ------------------------------------------------------------ routes

  /**
   * Handles the BFF's routes (`/auth/login`, the callback, `/auth/logout`,
   * `/auth/me`); answers false for any other request, which is the app's.
   */
  async handle(req: Req, res: ResponseLike): Promise<boolean> {
    const url = new URL(req.url ?? '/', this.origin);
    const route = `${req.method ?? 'GET'} ${url.pathname}`;
    try {
      if (route === `GET ${this.prefix}/login`) await this.login(res);
      else if (route === `GET ${this.callbackPath}`) await this.callback(req, res, url);
      else if (route === `POST ${this.prefix}/logout`) await this.logout(req, res);
      else if (route === `GET ${this.prefix}/me`) {
        const s = await this.session(req, res);
        if (s) this.json(res, 200, { sub: s.sub });
        else this.json(res, 401, { error: 'login_required' });
      } else return false;
    } catch (e) {
      const err = e instanceof OneAuthError ? e : new OneAuthError('server', 'server_error', String(e));
      this.json(res, err.status && err.status < 500 ? 400 : 502, { error: err.error, error_description: err.message });
    }
    return true;
  }

  private async login(res: ResponseLike) {
    const meta = await requestJson<{ authorization_endpoint: string }>(this.fetchImpl, `${this.issuer}/.well-known/openid-configuration`);
    const rand = () => base64UrlEncode(crypto.getRandomValues(new Uint8Array(32)));
    const tx = { state: rand(), nonce: rand(), verifier: rand() };
    const challenge = base64UrlEncode(new Uint8Array(await crypto.subtle.digest('SHA-256', enc.encode(tx.verifier))));
    const u = new URL(meta.authorization_endpoint);
    const q: Record<string, string> = {
      client_id: this.o.clientId,
      redirect_uri: this.o.redirectUri,
      response_type: 'code',
      scope: this.o.scope ?? 'openid profile email offline',
      state: tx.state,
      nonce: tx.nonce,
      code_challenge: challenge,
      code_challenge_method: 'S256',
    };
    for (const [k, v] of Object.entries(q)) u.searchParams.set(k, v);
    this.setCookie(res, `${this.cookie}_tx`, await this.seal(tx), 600);
    this.redirect(res, 302, u.href);
  }

  private async callback(req: Req, res: ResponseLike, url: URL) {
    const tx = await this.unseal<{ state: string; nonce: string; verifier: string }>(this.cookies(req)[`${this.cookie}_tx`]);
    this.setCookie(res, `${this.cookie}_tx`, '', 0);
    const q = url.searchParams;
    if (q.get('error')) throw new OneAuthError('authentication', q.get('error')!, q.get('error_description') ?? '', { status: 400 });
    if (!tx || q.get('state') !== tx.state) throw new OneAuthError('protocol', 'invalid_state', 'The callback state does not match a login started here.', { status: 400 });
    const r = await postForm<TokenResponse>(this.fetchImpl, `${this.issuer}/oauth2/token`, {
      grant_type: 'authorization_code',
      code: q.get('code') ?? '',
      redirect_uri: this.o.redirectUri,
      code_verifier: tx.verifier,
      ...(this.o.clientSecret ? {} : { client_id: this.o.clientId }),
    }, { headers: this.clientAuth() });
    if (!r.id_token) throw new OneAuthError('protocol', 'invalid_response', 'No id_token (is `openid` in the scope?).');
    const claims = await verifyJwt(r.id_token, this.jwks, { issuer: this.issuer, audience: this.o.clientId, nonce: tx.nonce });
    await this.store(res, { tokens: tokenSetFrom(r, Date.now()), sub: String(claims.sub) });
    this.redirect(res, 302, this.o.afterLogin ?? '/');
  }

  private clientAuth(): Record<string, string> {
    if (!this.o.clientSecret) return {};
    const basic = btoa(`${encodeURIComponent(this.o.clientId)}:${encodeURIComponent(this.o.clientSecret)}`);
    return { authorization: `Basic ${basic}` };
  }

  private async store(res: ResponseLike, s: Session) {
    this.setCookie(res, this.cookie, await this.seal(s), 30 * 24 * 3600);
  }

  /** The signed-in session (tokens refreshed when due, the cookie resealed), or null. */
  async session(req: Req, res: ResponseLike): Promise<Session | null> {
    const s = await this.unseal<Session>(this.cookies(req)[this.cookie]);
    if (!s) return null;
    const due = s.tokens.expiresAt !== undefined && s.tokens.expiresAt - (this.o.refreshBeforeExpiryMs ?? 60_000) <= Date.now();
    if (!due) return s;
    if (!s.tokens.refreshToken) return null;
    try {
      const r = await postForm<TokenResponse>(this.fetchImpl, `${this.issuer}/oauth2/token`, {
        grant_type: 'refresh_token',
        refresh_token: s.tokens.refreshToken,
        ...(this.o.clientSecret ? {} : { client_id: this.o.clientId }),
      }, { headers: this.clientAuth() });
      const fresh: Session = { sub: s.sub, tokens: tokenSetFrom(r, Date.now(), s.tokens) };
      await this.store(res, fresh);
      return fresh;
    } catch (e) {
      if (e instanceof OneAuthError && e.kind === 'network') throw e;
      this.setCookie(res, this.cookie, '', 0);
      return null;
    }
  }

  /** A valid access token for this request's user, or null (signed out). */
  async accessToken(req: Req, res: ResponseLike): Promise<string | null> {
    return (await this.session(req, res))?.tokens.accessToken ?? null;
  }

  /**
   * The guide's two steps: revoke both tokens, then send the browser to
   * `/api/auth/logout`. A POST from this app's own origin only (a
   * cross-site page cannot log the user out).
   */
  private async logout(req: Req, res: ResponseLike) {
    const origin = req.headers.origin;
    if (origin !== undefined && origin !== this.origin) return this.json(res, 403, { error: 'forbidden_origin' });
    const s = await this.unseal<Session>(this.cookies(req)[this.cookie]);
    this.setCookie(res, this.cookie, '', 0);
    if (s) await postJson(this.fetchImpl, `${this.issuer}/api/oauth/logout`, { access_token: s.tokens.accessToken, refresh_token: s.tokens.refreshToken });
    const u = new URL(`${this.issuer}/api/auth/logout`);
    u.searchParams.set('post_logout_redirect_uri', this.o.postLogoutRedirectUri ?? this.origin);
    if (s?.tokens.idToken) u.searchParams.set('id_token_hint', s.tokens.idToken);
    this.redirect(res, 303, u.href);
  }
}

export function createBff(options: BffOptions): Bff {
  return new Bff(options);
}
