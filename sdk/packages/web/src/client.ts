import {
  Emitter,
  decodeJwt,
  type FetchLike,
  JwksCache,
  type JwtClaims,
  OneAuthError,
  type TokenResponse,
  type TokenSet,
  postForm,
  postJson,
  refreshDelay,
  requestJson,
  tokenSetFrom,
  verifyJwt,
} from '@oneauth/core';
import { codeChallenge, randomString } from './pkce.js';
import { type TokenStorage, localStorageAdapter, memoryStorage, sessionStorageAdapter } from './storage.js';
import { type ChannelLike, type LockManagerLike, type TabMessage, Tabs } from './tabs.js';

export interface OneAuthOptions {
  /** OneAuth's issuer URL, e.g. `https://auth.example.com`. */
  issuer: string;
  clientId: string;
  redirectUri: string;
  /** Default `openid profile email offline` (`offline` for a refresh token). */
  scope?: string;
  /** `memory` (default), `session`, `local` (opt-in: readable by any script on the origin) or your own. */
  storage?: 'memory' | 'session' | 'local' | TokenStorage;
  /** Refresh this long before the access token expires. Default 60 000 ms (the guide's checklist). */
  refreshBeforeExpiryMs?: number;
  /** Where logout lands; must be registered (a post-logout URI or the origin of a redirect URI). Default: this page's origin. */
  postLogoutRedirectUri?: string;
  /** Injection points, for tests and unusual hosts. */
  fetch?: FetchLike;
  navigate?: (url: string) => void;
  /** Holds the login transaction across the redirect. Default sessionStorage. */
  transactionStorage?: TokenStorage;
  locks?: LockManagerLike | null;
  channel?: ChannelLike | null;
}

export type OneAuthEvent = 'login' | 'logout' | 'tokenRefreshed' | 'unauthenticated' | 'error';

export interface LoginResult {
  tokens: TokenSet;
  claims: JwtClaims;
  /** What `login({ returnTo })` asked to come back to. */
  returnTo?: string;
}

interface Transaction {
  state: string;
  nonce: string;
  verifier: string;
  returnTo?: string;
}

interface Discovery {
  authorization_endpoint: string;
  jwks_uri: string;
}

const POPUP_STATE = 'popup.';
const TOKENS_KEY = (clientId: string) => `oneauth:tokens:${clientId}`;
const TX_KEY = (clientId: string) => `oneauth:tx:${clientId}`;

function storageOf(s: OneAuthOptions['storage']): TokenStorage {
  if (s === undefined || s === 'memory') return memoryStorage();
  if (s === 'session') return sessionStorageAdapter();
  if (s === 'local') return localStorageAdapter();
  return s;
}

/** A OneAuth client for a single-page app; see README.md. */
export class OneAuth {
  readonly issuer: string;
  private readonly o: Required<Pick<OneAuthOptions, 'clientId' | 'redirectUri' | 'scope' | 'refreshBeforeExpiryMs'>> & OneAuthOptions;
  private readonly storage: TokenStorage;
  private readonly fetchImpl: FetchLike;
  private readonly jwks: JwksCache;
  private discovery: Promise<Discovery> | null = null;
  private tokens: TokenSet | null = null;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private closed = false;
  private refreshing: Promise<TokenSet> | null = null;
  private readonly events = new Emitter<OneAuthEvent>('error');
  private readonly tabs: Tabs;
  /** Settles once stored tokens (or a sibling tab's) are loaded. */
  readonly ready: Promise<void>;

  constructor(options: OneAuthOptions) {
    this.issuer = options.issuer.replace(/\/+$/, '');
    this.o = { scope: 'openid profile email offline', refreshBeforeExpiryMs: 60_000, ...options };
    this.storage = storageOf(options.storage);
    const f = options.fetch ?? ((u: string, i?: RequestInit) => globalThis.fetch(u, i));
    this.fetchImpl = f;
    this.jwks = new JwksCache(async () => (await this.metadata()).jwks_uri, f);
    const g = globalThis as { navigator?: { locks?: LockManagerLike }; BroadcastChannel?: new (n: string) => ChannelLike };
    const channel = options.channel !== undefined ? options.channel : g.BroadcastChannel ? new g.BroadcastChannel(`oneauth:${options.clientId}`) : null;
    const locks = options.locks !== undefined ? options.locks : (g.navigator?.locks ?? null);
    this.tabs = new Tabs(`oneauth:refresh:${options.clientId}`, channel, locks, (m) => this.fromOtherTab(m));
    this.ready = this.load(channel !== null);
  }

  // ------------------------------------------------------------ events

  /** Listens to login, logout, tokenRefreshed, unauthenticated or error; answers an unsubscribe function. */
  on(event: OneAuthEvent, fn: (detail: unknown) => void): () => void {
    return this.events.on(event, fn);
  }

  private emit(event: OneAuthEvent, detail?: unknown) {
    this.events.emit(event, detail);
  }

  // ------------------------------------------------------------ state

  /** The current tokens, or null when signed out. */
  getTokens(): TokenSet | null {
    return this.tokens;
  }

  get isAuthenticated(): boolean {
    return this.tokens !== null;
  }

  private async load(askSiblings: boolean) {
    const raw = this.storage.get(TOKENS_KEY(this.o.clientId));
    if (raw) {
      try {
        this.adopt(JSON.parse(raw));
      } catch {
        this.storage.remove(TOKENS_KEY(this.o.clientId));
      }
    }
    if (!this.tokens && askSiblings) {
      // An open tab of the same app may hold tokens in memory.
      this.tabs.post({ type: 'hello' });
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  /** Keeps `t` and schedules its refresh. */
  private adopt(t: TokenSet) {
    this.tokens = t;
    this.storage.set(TOKENS_KEY(this.o.clientId), JSON.stringify(t));
    clearTimeout(this.timer);
    const delay = t.refreshToken ? refreshDelay(t.expiresAt, Date.now(), this.o.refreshBeforeExpiryMs) : undefined;
    if (delay !== undefined && !this.closed) this.timer = setTimeout(() => void this.refresh().catch(() => {}), delay);
  }

  private clear() {
    this.tokens = null;
    clearTimeout(this.timer);
    this.storage.remove(TOKENS_KEY(this.o.clientId));
  }

  private fromOtherTab(m: TabMessage) {
    if (m.type === 'hello') {
      if (this.tokens) this.tabs.post({ type: 'tokens', tokens: this.tokens });
    } else if (m.type === 'tokens') {
      if (this.tokens?.accessToken === m.tokens.accessToken) return;
      const first = this.tokens === null;
      this.adopt(m.tokens);
      this.emit(first ? 'login' : 'tokenRefreshed', m.tokens);
    } else if (m.type === 'logout' && this.tokens) {
      this.clear();
      this.emit('logout');
    }
  }

  private metadata(): Promise<Discovery> {
    this.discovery ??= requestJson<Discovery>(this.fetchImpl, `${this.issuer}/.well-known/openid-configuration`).catch((e) => {
      this.discovery = null;
      throw e;
    });
    return this.discovery;
  }

  private get txStorage(): TokenStorage {
    return this.o.transactionStorage ?? sessionStorageAdapter();
  }

  private navigate(url: string) {
    if (this.o.navigate) this.o.navigate(url);
    else globalThis.location.assign(url);
  }

  // ------------------------------------------------------------ login

  /** The authorization URL of a new login (PKCE S256, state, nonce); the transaction is kept for the callback. */
  async authorizationUrl(opts: { returnTo?: string; extraParams?: Record<string, string>; popup?: boolean } = {}): Promise<string> {
    const meta = await this.metadata();
    // A popup login's state says so: its callback page relays the answer to the opener.
    const state = `${opts.popup ? POPUP_STATE : ''}${randomString()}`;
    const tx: Transaction = { state, nonce: randomString(), verifier: randomString(32), returnTo: opts.returnTo };
    this.txStorage.set(TX_KEY(this.o.clientId), JSON.stringify(tx));
    const u = new URL(meta.authorization_endpoint);
    const params: Record<string, string> = {
      client_id: this.o.clientId,
      redirect_uri: this.o.redirectUri,
      response_type: 'code',
      scope: this.o.scope,
      state: tx.state,
      nonce: tx.nonce,
      code_challenge: await codeChallenge(tx.verifier),
      code_challenge_method: 'S256',
      // OIDC display=popup: OneAuth's login page in its popup layout.
      ...(opts.popup ? { display: 'popup' } : {}),
      ...opts.extraParams,
    };
    for (const [k, v] of Object.entries(params)) u.searchParams.set(k, v);
    return u.href;
  }

  /**
   * Redirects to OneAuth's login; with `mode: 'popup'` opens it in a popup
   * instead and resolves once the popup's callback signed this page in.
   */
  async login(opts: { mode?: 'redirect' | 'popup'; returnTo?: string; extraParams?: Record<string, string> } = {}): Promise<LoginResult | void> {
    if (opts.mode !== 'popup') return this.navigate(await this.authorizationUrl(opts));
    // Opened before any await, so the click's user activation still allows it.
    const popup = globalThis.open('about:blank', 'oneauth-login', 'popup,width=480,height=680');
    if (!popup) throw new OneAuthError('protocol', 'popup_blocked', 'The browser blocked the login popup.');
    popup.location.href = await this.authorizationUrl({ ...opts, popup: true });
    const url = await new Promise<string>((resolve, reject) => {
      const done = (ev: MessageEvent) => {
        if (ev.origin !== globalThis.location.origin || ev.source !== popup || ev.data?.type !== 'oneauth:callback') return;
        cleanup();
        resolve(String(ev.data.url));
      };
      const poll = setInterval(() => {
        if (popup.closed) {
          cleanup();
          reject(new OneAuthError('authentication', 'popup_closed', 'The login popup was closed.'));
        }
      }, 500);
      const cleanup = () => {
        clearInterval(poll);
        globalThis.removeEventListener('message', done);
      };
      globalThis.addEventListener('message', done);
    });
    popup.close();
    return this.handleCallback(url);
  }

  /**
   * On the redirect URI: checks `state`, exchanges the code (with the PKCE
   * verifier) at the guide's token endpoint, checks the id_token's
   * signature against the JWKS and its iss/aud/exp/nonce.
   */
  async handleCallback(url: string = globalThis.location.href): Promise<LoginResult> {
    await this.ready;
    const q = new URL(url).searchParams;
    // In a login popup (the opener holds the transaction): hand the answer
    // to the opener, same origin only, and let it finish.
    const opener = (globalThis as { opener?: Window | null }).opener;
    if (opener && q.get('state')?.startsWith(POPUP_STATE)) {
      opener.postMessage({ type: 'oneauth:callback', url }, globalThis.location.origin);
      return new Promise(() => {}); // the opener closes this window
    }
    const raw = this.txStorage.get(TX_KEY(this.o.clientId));
    this.txStorage.remove(TX_KEY(this.o.clientId));
    if (q.get('error')) {
      throw new OneAuthError('authentication', q.get('error')!, q.get('error_description') ?? q.get('error')!);
    }
    const tx: Transaction | null = raw ? JSON.parse(raw) : null;
    if (!tx || q.get('state') !== tx.state) {
      throw new OneAuthError('protocol', 'invalid_state', 'The callback state does not match a login started here.');
    }
    const code = q.get('code');
    if (!code) throw new OneAuthError('protocol', 'invalid_request', 'The callback has no code.');
    const r = await postForm<TokenResponse>(this.fetchImpl, `${this.issuer}/api/oauth2/token`, {
      grant_type: 'authorization_code',
      code,
      redirect_uri: this.o.redirectUri,
      client_id: this.o.clientId,
      code_verifier: tx.verifier,
    });
    const result = await this.signedIn(r, tx.nonce);
    return { ...result, returnTo: tx.returnTo };
  }

  private async signedIn(r: TokenResponse, nonce?: string): Promise<LoginResult> {
    if (!r.id_token) throw new OneAuthError('protocol', 'invalid_response', 'The token answer has no id_token (is `openid` in the scope?).');
    const claims = await verifyJwt(r.id_token, this.jwks, { issuer: this.issuer, audience: this.o.clientId, nonce });
    const tokens = tokenSetFrom(r, Date.now());
    this.adopt(tokens);
    this.tabs.post({ type: 'tokens', tokens });
    this.emit('login', tokens);
    return { tokens, claims };
  }

  /** The signed-in user's id_token claims (checked when the tokens arrived), or null. */
  get user(): JwtClaims | null {
    const t = this.tokens?.idToken;
    if (!t) return null;
    return decodeJwt(t).claims;
  }

  /**
   * Tokens from OneAuth's session cookie without a redirect (the guide's
   * silent exchange); null when there is no session.
   */
  async silentLogin(): Promise<LoginResult | null> {
    await this.ready;
    try {
      const r = await postJson<TokenResponse>(
        this.fetchImpl,
        `${this.issuer}/api/oauth/web/exchange`,
        { client_id: this.o.clientId, redirect_uri: this.o.redirectUri, scope: this.o.scope, code_verifier: randomString(48) },
        { credentials: 'include' },
      );
      return await this.signedIn(r);
    } catch (e) {
      if (e instanceof OneAuthError && e.status === 401) return null;
      this.emit('error', e);
      throw e;
    }
  }

  // ------------------------------------------------------------ refresh

  /**
   * New tokens from the refresh token; one refresh at a time in this tab
   * and across tabs. On failure the tokens are dropped and `unauthenticated`
   * is emitted once (no retry loop).
   */
  refresh(): Promise<TokenSet> {
    this.refreshing ??= this.refreshOnce().finally(() => {
      this.refreshing = null;
    });
    return this.refreshing;
  }

  private async refreshOnce(): Promise<TokenSet> {
    await this.ready;
    const spent = this.tokens?.refreshToken;
    if (!spent) throw new OneAuthError('authentication', 'login_required', 'No refresh token: sign in.');
    try {
      return await this.tabs.exclusive(spent, async () => {
        this.reloadShared();
        // Another tab rotated it while we waited: take its result.
        if (this.tokens && this.tokens.refreshToken !== spent) return this.tokens;
        if (!this.tokens) throw new OneAuthError('authentication', 'login_required', 'Signed out in another tab.');
        const r = await postJson<TokenResponse>(this.fetchImpl, `${this.issuer}/api/oauth/refresh`, { refresh_token: spent });
        // Logged out meanwhile: this answer must not sign the tab back in.
        if (this.tokens?.refreshToken !== spent) throw new OneAuthError('authentication', 'login_required', 'Signed out during the refresh.');
        const tokens = tokenSetFrom(r, Date.now(), this.tokens);
        this.adopt(tokens);
        this.tabs.post({ type: 'tokens', tokens });
        this.emit('tokenRefreshed', tokens);
        return tokens;
      });
    } catch (e) {
      this.clear();
      this.emit('error', e);
      this.emit('unauthenticated', e);
      throw e;
    }
  }

  /** A storage shared between tabs (localStorage) may hold a newer set. */
  private reloadShared() {
    const raw = this.storage.get(TOKENS_KEY(this.o.clientId));
    if (!raw) return;
    const stored: TokenSet = JSON.parse(raw);
    if (stored.refreshToken !== this.tokens?.refreshToken) this.adopt(stored);
  }

  /** A valid access token, refreshed first when it has expired. */
  async accessToken(): Promise<string | null> {
    await this.ready;
    if (!this.tokens) return null;
    if (this.tokens.expiresAt !== undefined && this.tokens.expiresAt <= Date.now() && this.tokens.refreshToken) {
      return (await this.refresh()).accessToken;
    }
    return this.tokens.accessToken;
  }

  /** `fetch` with the bearer token; on a 401, refreshes and retries once. */
  async fetch(input: string, init: RequestInit = {}): Promise<Response> {
    const send = (token: string | null) => {
      const headers = new Headers(init.headers);
      if (token) headers.set('authorization', `Bearer ${token}`);
      return this.fetchImpl(input, { ...init, headers });
    };
    const token = await this.accessToken();
    const res = await send(token);
    if (res.status !== 401 || !this.tokens?.refreshToken) return res;
    const fresh = await this.refresh();
    return send(fresh.accessToken);
  }

  // ------------------------------------------------------------ logout

  /**
   * The guide's two steps: revoke both tokens, then end OneAuth's session
   * by navigating to `/api/auth/logout` (the id_token as hint, so it does
   * not ask the user to confirm).
   */
  async logout(opts: { postLogoutRedirectUri?: string } = {}): Promise<void> {
    await this.ready;
    const t = this.tokens;
    if (t) {
      try {
        await postJson(this.fetchImpl, `${this.issuer}/api/oauth/logout`, { access_token: t.accessToken, refresh_token: t.refreshToken });
      } catch (e) {
        // Still end the session and forget the tokens; the app hears about it.
        this.emit('error', e);
      }
    }
    this.clear();
    this.tabs.post({ type: 'logout' });
    this.emit('logout');
    const target = opts.postLogoutRedirectUri ?? this.o.postLogoutRedirectUri ?? globalThis.location?.origin;
    const u = new URL(`${this.issuer}/api/auth/logout`);
    if (target) u.searchParams.set('post_logout_redirect_uri', target);
    if (t?.idToken) u.searchParams.set('id_token_hint', t.idToken);
    this.navigate(u.href);
  }

  /** Stops timers and the tab channel (for tests and teardown). */
  close() {
    this.closed = true;
    clearTimeout(this.timer);
    this.tabs.close();
  }
}

export function createOneAuth(options: OneAuthOptions): OneAuth {
  return new OneAuth(options);
}
