import { Emitter, OneAuthError, type TokenResponse, type TokenSet, errorFromBody, refreshDelay, tokenSetFrom } from '@oneauth/core';
import { type Platform, type WxLike, wechat } from './platform.js';

export interface MiniProgramAuthOptions {
  issuer: string;
  /** The OneAuth client named by the app's `[[miniprogram.apps]]` entry. */
  clientId: string;
  /** WeChat's `wx`, or a Platform adapter for another platform. */
  wx?: WxLike;
  platform?: Platform;
  /** Refresh this long before the access token expires. Default 60 000 ms. */
  refreshBeforeExpiryMs?: number;
  storageKey?: string;
}

export type MiniProgramEvent = 'login' | 'logout' | 'tokenRefreshed' | 'unauthenticated' | 'error';

export interface PhoneBinding {
  sub: string;
  phone_number: string;
  /** The account was joined to an existing one; the SDK has logged in again as it. */
  merged: boolean;
}

/** OneAuth for a mini-program; see README.md. */
export class MiniProgramAuth {
  readonly issuer: string;
  private readonly platform: Platform;
  private readonly key: string;
  private readonly before: number;
  private tokens: TokenSet | null = null;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private closed = false;
  private refreshing: Promise<TokenSet> | null = null;
  private readonly events = new Emitter<MiniProgramEvent>('error');

  constructor(private readonly o: MiniProgramAuthOptions) {
    this.issuer = o.issuer.replace(/\/+$/, '');
    const platform = o.platform ?? (o.wx ? wechat(o.wx) : undefined);
    if (!platform) throw new TypeError('createMiniProgramAuth needs `wx` or a `platform`');
    this.platform = platform;
    this.key = o.storageKey ?? `oneauth:tokens:${o.clientId}`;
    this.before = o.refreshBeforeExpiryMs ?? 60_000;
    const saved = platform.getItem(this.key);
    if (saved) {
      try {
        this.adopt(JSON.parse(saved));
      } catch {
        platform.removeItem(this.key);
      }
    }
  }

  on(event: MiniProgramEvent, fn: (detail: unknown) => void): () => void {
    return this.events.on(event, fn);
  }

  getTokens(): TokenSet | null {
    return this.tokens;
  }

  get isAuthenticated(): boolean {
    return this.tokens !== null;
  }

  private async post<T>(path: string, data: unknown, token?: string): Promise<T> {
    let r: { status: number; data: unknown };
    try {
      r = await this.platform.request({ url: `${this.issuer}${path}`, method: 'POST', data, headers: token ? { authorization: `Bearer ${token}` } : {} });
    } catch (e) {
      throw new OneAuthError('network', 'network_error', `POST ${path} failed: ${(e as Error).message}`, { cause: e });
    }
    const body = typeof r.data === 'string' ? safeJson(r.data) : r.data;
    if (r.status < 200 || r.status >= 300) throw errorFromBody(r.status, body);
    return body as T;
  }

  private adopt(t: TokenSet) {
    this.tokens = t;
    this.platform.setItem(this.key, JSON.stringify(t));
    clearTimeout(this.timer);
    const delay = t.refreshToken ? refreshDelay(t.expiresAt, Date.now(), this.before) : undefined;
    if (delay !== undefined && !this.closed) this.timer = setTimeout(() => void this.refresh().catch(() => {}), delay);
  }

  private clear() {
    this.tokens = null;
    clearTimeout(this.timer);
    this.platform.removeItem(this.key);
  }

  /** `wx.login()`, then OneAuth's mini-program login; keeps and answers the tokens. */
  async login(): Promise<TokenSet> {
    try {
      const code = await this.platform.login();
      const r = await this.post<TokenResponse>('/api/oauth/miniprogram/login', { client_id: this.o.clientId, code });
      const tokens = tokenSetFrom(r, Date.now());
      this.adopt(tokens);
      this.events.emit('login', tokens);
      return tokens;
    } catch (e) {
      this.events.emit('error', e);
      throw e;
    }
  }

  /** New tokens from the refresh token, one request at a time; on failure `unauthenticated`, no retry loop. */
  refresh(): Promise<TokenSet> {
    this.refreshing ??= (async () => {
      const spent = this.tokens?.refreshToken;
      try {
        if (!spent) throw new OneAuthError('authentication', 'login_required', 'No refresh token: log in.');
        const r = await this.post<TokenResponse>('/api/oauth/refresh', { refresh_token: spent });
        // Logged out (or in again) meanwhile: this answer is stale.
        if (this.tokens?.refreshToken !== spent) throw new OneAuthError('authentication', 'login_required', 'Logged out during the refresh.');
        const tokens = tokenSetFrom(r, Date.now(), this.tokens ?? undefined);
        this.adopt(tokens);
        this.events.emit('tokenRefreshed', tokens);
        return tokens;
      } catch (e) {
        this.clear();
        this.events.emit('error', e);
        this.events.emit('unauthenticated', e);
        throw e;
      }
    })().finally(() => {
      this.refreshing = null;
    });
    return this.refreshing;
  }

  /** A valid access token: logs in when there is none, refreshes an expired one. */
  async accessToken(): Promise<string> {
    if (!this.tokens) return (await this.login()).accessToken;
    if (this.tokens.expiresAt !== undefined && this.tokens.expiresAt <= Date.now()) return (await this.refresh()).accessToken;
    return this.tokens.accessToken;
  }

  /** A request with the bearer token (logging in first if needed); on a 401, refreshes and retries once. */
  async request(options: { url: string; method: 'GET' | 'POST'; data?: unknown; headers?: Record<string, string> }): Promise<{ status: number; data: unknown }> {
    const send = (token: string) => this.platform.request({ ...options, headers: { ...options.headers, authorization: `Bearer ${token}` } });
    const r = await send(await this.accessToken());
    if (r.status !== 401 || !this.tokens?.refreshToken) return r;
    return send((await this.refresh()).accessToken);
  }

  /**
   * Binds the `getPhoneNumber` button's code to the account. When OneAuth
   * joins the account to an existing one (`merged`), the old tokens are
   * revoked, so this logs in again to get the joined account's.
   */
  async bindPhone(code: string): Promise<PhoneBinding> {
    const answer = await this.post<PhoneBinding>('/api/oauth/miniprogram/phone', { code }, await this.accessToken());
    if (answer.merged) await this.login();
    return answer;
  }

  /** Revokes both tokens at OneAuth and forgets them. */
  async logout(): Promise<void> {
    const t = this.tokens;
    this.clear();
    if (t) {
      try {
        await this.post('/api/oauth/logout', { access_token: t.accessToken, refresh_token: t.refreshToken });
      } catch (e) {
        this.events.emit('error', e);
      }
    }
    this.events.emit('logout');
  }

  /** Stops the refresh timer. */
  close() {
    this.closed = true;
    clearTimeout(this.timer);
  }
}

function safeJson(s: string): unknown {
  try {
    return JSON.parse(s);
  } catch {
    return null;
  }
}

export function createMiniProgramAuth(options: MiniProgramAuthOptions): MiniProgramAuth {
  return new MiniProgramAuth(options);
}
