import { describe, mock, test } from 'node:test';
import assert from 'node:assert/strict';
import { OneAuthError, createOneAuth, memoryStorage, webStorage } from '../dist/index.js';
import { fakeIssuer, fakeTabs, mapStorage, signedIn } from '../../../test-support/fake-issuer.mjs';

const flush = async (n = 20) => {
  for (let i = 0; i < n; i++) await new Promise((r) => setImmediate(r));
};
/** Lets pending I/O (WebCrypto signing in the stand-in runs off-thread) settle until `cond` holds. */
const until = async (cond) => {
  for (let i = 0; i < 20_000 && !cond(); i++) await new Promise((r) => setImmediate(r));
  assert.ok(cond(), 'condition never held');
};

describe('login and callback', () => {
  test('login sends PKCE S256, state and nonce; the callback checks state and the id_token', async () => {
    const f = await fakeIssuer();
    const tx = mapStorage();
    let went;
    const auth = createOneAuth({ issuer: f.issuer, clientId: 'spa', redirectUri: 'https://app.test/callback', fetch: f.fetch, navigate: (u) => (went = u), transactionStorage: tx, channel: null, locks: null });
    await auth.login();
    const q = new URL(went).searchParams;
    assert.equal(new URL(went).pathname, '/oauth2/auth');
    assert.equal(q.get('code_challenge_method'), 'S256');
    assert.match(q.get('code_challenge'), /^[A-Za-z0-9_-]{43}$/);
    assert.ok(q.get('state') && q.get('nonce'));
    assert.equal(q.get('scope'), 'openid profile email offline');

    await assert.rejects(auth.handleCallback(`https://app.test/callback?code=x&state=wrong`), (e) => e instanceof OneAuthError && e.error === 'invalid_state');
    // The transaction is single-use: the right state after a failure is refused too.
    await assert.rejects(auth.handleCallback(`https://app.test/callback?code=x&state=${q.get('state')}`), /state/);

    await auth.login();
    const q2 = new URL(went).searchParams;
    f.nonce = q2.get('nonce');
    const { claims, tokens } = await auth.handleCallback(`https://app.test/callback?code=c&state=${q2.get('state')}`);
    assert.equal(claims.sub, 'user-1');
    assert.equal(tokens.accessToken, auth.getTokens().accessToken);
    const exchange = f.calls.find((c) => c.path === '/api/oauth2/token');
    const form = new URLSearchParams(exchange.body);
    assert.equal(form.get('grant_type'), 'authorization_code');
    assert.match(form.get('code_verifier'), /^[A-Za-z0-9_-]{43}$/);
    auth.close();
  });

  test('an id_token with another nonce, audience or a bad signature is refused', async () => {
    const f = await fakeIssuer();
    for (const [claims, why] of [[{ nonce: 'other' }, /nonce/], [{ aud: 'someone-else' }, /aud/], [{ iss: 'https://evil.test' }, /iss/], [{ exp: 1 }, /expired/]]) {
      const tokens = f.tokens;
      f.tokens = async () => ({ ...(await tokens(claims)) });
      await assert.rejects(signedIn(createOneAuth, f), why);
      f.tokens = tokens;
    }
    const tokens = f.tokens;
    f.tokens = async () => {
      const t = await tokens();
      const [h, p] = t.id_token.split('.');
      return { ...t, id_token: `${h}.${p}.${Buffer.from('forged').toString('base64url')}` };
    };
    await assert.rejects(signedIn(createOneAuth, f), /signature/);
  });

  test('an error in the callback is a typed error', async () => {
    const f = await fakeIssuer();
    const auth = createOneAuth({ issuer: f.issuer, clientId: 'spa', redirectUri: 'https://app.test/cb', fetch: f.fetch, transactionStorage: mapStorage(), channel: null, locks: null });
    await assert.rejects(auth.handleCallback('https://app.test/cb?error=access_denied&error_description=no'), (e) => e.error === 'access_denied' && e.kind === 'authentication');
  });
});

describe('refresh timing (fake timers)', () => {
  test('refreshes one minute before expiry by default, again after each rotation', async (t) => {
    t.mock.timers.enable({ apis: ['setTimeout', 'Date'], now: 1_000_000 });
    const f = await fakeIssuer({ expiresIn: 300 });
    const auth = await signedIn(createOneAuth, f);
    const refreshed = [];
    auth.on('tokenRefreshed', (tk) => refreshed.push(tk.accessToken));
    t.mock.timers.tick(239_000);
    await flush();
    assert.equal(f.count('/api/oauth/refresh'), 0, 'not before expiry - 60 s');
    t.mock.timers.tick(1_000);
    await until(() => refreshed.length === 1);
    assert.equal(f.count('/api/oauth/refresh'), 1);
    assert.deepEqual(refreshed, ['at-2']);
    t.mock.timers.tick(240_000);
    await until(() => refreshed.length === 2);
    assert.deepEqual(refreshed, ['at-2', 'at-3']);
    auth.close();
  });

  test('the margin is configurable', async (t) => {
    t.mock.timers.enable({ apis: ['setTimeout', 'Date'], now: 1_000_000 });
    const f = await fakeIssuer({ expiresIn: 300 });
    const auth = await signedIn(createOneAuth, f, { refreshBeforeExpiryMs: 10_000 });
    t.mock.timers.tick(289_999);
    await flush();
    assert.equal(f.count('/api/oauth/refresh'), 0);
    t.mock.timers.tick(1);
    await until(() => f.count('/api/oauth/refresh') === 1);
    auth.close();
  });

  test('a failed refresh drops the tokens and emits unauthenticated once, with no retry loop', async (t) => {
    t.mock.timers.enable({ apis: ['setTimeout', 'Date'], now: 1_000_000 });
    const f = await fakeIssuer({ expiresIn: 120 });
    const auth = await signedIn(createOneAuth, f);
    const seen = [];
    auth.on('unauthenticated', (e) => seen.push(e));
    f.failRefresh = { status: 400, body: { error: 'invalid_grant', error_description: 'revoked', code: 4007 } };
    t.mock.timers.tick(60_000);
    await until(() => seen.length === 1);
    assert.equal(seen[0].error, 'invalid_grant');
    assert.equal(seen[0].code, 4007);
    assert.equal(auth.getTokens(), null);
    t.mock.timers.tick(3_600_000);
    await flush();
    assert.equal(f.count('/api/oauth/refresh'), 1, 'no further attempts');
    auth.close();
  });
});

describe('single flight', () => {
  test('concurrent refresh() calls in one tab make one request', async () => {
    const f = await fakeIssuer();
    const auth = await signedIn(createOneAuth, f);
    const [a, b, c] = await Promise.all([auth.refresh(), auth.refresh(), auth.refresh()]);
    assert.equal(f.count('/api/oauth/refresh'), 1);
    assert.equal(a, b);
    assert.equal(b, c);
    auth.close();
  });

  for (const withLocks of [true, false]) {
    test(`two tabs refreshing at once make one request (${withLocks ? 'Web Locks' : 'BroadcastChannel fallback'})`, async () => {
      const f = await fakeIssuer();
      const tabs = fakeTabs();
      const opts = () => ({ channel: tabs.channel(), locks: withLocks ? tabs.locks : null });
      const one = await signedIn(createOneAuth, f, opts());
      // The second tab gets the first one's tokens over the channel.
      const two = createOneAuth({ issuer: f.issuer, clientId: 'spa', redirectUri: 'https://app.test/callback', fetch: f.fetch, transactionStorage: mapStorage(), ...opts() });
      await two.ready;
      assert.equal(two.getTokens()?.refreshToken, one.getTokens().refreshToken);
      const [a, b] = await Promise.all([one.refresh(), two.refresh()]);
      assert.equal(f.count('/api/oauth/refresh'), 1);
      assert.equal(a.refreshToken, b.refreshToken);
      one.close();
      two.close();
    });
  }

  test('logout in one tab signs the others out', async () => {
    const f = await fakeIssuer();
    const tabs = fakeTabs();
    const one = await signedIn(createOneAuth, f, { channel: tabs.channel(), locks: tabs.locks });
    const two = createOneAuth({ issuer: f.issuer, clientId: 'spa', redirectUri: 'https://app.test/callback', fetch: f.fetch, channel: tabs.channel(), locks: tabs.locks });
    await two.ready;
    let loggedOut = false;
    two.on('logout', () => (loggedOut = true));
    await one.logout({ postLogoutRedirectUri: 'https://app.test/' });
    await flush();
    assert.ok(loggedOut);
    assert.equal(two.getTokens(), null);
    one.close();
    two.close();
  });
});

describe('storage adapters', () => {
  test('memory is the default and keeps nothing in Web Storage', async () => {
    const f = await fakeIssuer();
    const session = mapStorage();
    const auth = await signedIn(createOneAuth, f, { transactionStorage: session });
    assert.equal(session.map.size, 0, 'the login transaction is gone, no tokens were written');
    assert.ok(auth.getTokens());
    auth.close();
  });

  test('a Web Storage adapter keeps tokens across a reload, and logout removes them', async () => {
    const backing = new Map();
    const store = { getItem: (k) => backing.get(k) ?? null, setItem: (k, v) => backing.set(k, String(v)), removeItem: (k) => backing.delete(k) };
    const f = await fakeIssuer();
    const auth = await signedIn(createOneAuth, f, { storage: webStorage(store) });
    auth.close();
    const reloaded = createOneAuth({ issuer: f.issuer, clientId: 'spa', redirectUri: 'https://app.test/callback', fetch: f.fetch, storage: webStorage(store), channel: null, locks: null, navigate: () => {} });
    await reloaded.ready;
    assert.equal(reloaded.getTokens()?.accessToken, auth.getTokens().accessToken);
    await reloaded.logout({ postLogoutRedirectUri: 'https://app.test/' });
    assert.equal(backing.size, 0);
    reloaded.close();
  });

  test('memoryStorage round-trips', () => {
    const m = memoryStorage();
    m.set('a', '1');
    assert.equal(m.get('a'), '1');
    m.remove('a');
    assert.equal(m.get('a'), null);
  });
});

describe('fetch wrapper, errors, logout', () => {
  test('adds the bearer; on 401 refreshes and retries once', async () => {
    const f = await fakeIssuer();
    const auth = await signedIn(createOneAuth, f);
    assert.equal((await auth.fetch(`${f.issuer}/api/data`)).status, 200);
    // The server considers the token stale: one refresh, one retry.
    f.n++;
    f.liveRefresh.add(auth.getTokens().refreshToken);
    const r = await auth.fetch(`${f.issuer}/api/data`);
    assert.equal(r.status, 200);
    assert.equal(f.count('/api/oauth/refresh'), 1);
    assert.equal(f.count('/api/data'), 3);
    auth.close();
  });

  test('errors are typed from {error, error_description, code}', async () => {
    const f = await fakeIssuer();
    const auth = await signedIn(createOneAuth, f);
    for (const [status, code, kind] of [[400, 4007, 'request'], [401, 2001, 'authentication'], [403, 3001, 'permission'], [429, undefined, 'rate_limited'], [503, 5503, 'server']]) {
      f.failRefresh = { status, body: { error: 'e', error_description: 'd', code } };
      f.liveRefresh.add('rt-x');
      auth.close();
      const a = await signedIn(createOneAuth, f);
      await assert.rejects(a.refresh(), (e) => e instanceof OneAuthError && e.kind === kind && e.code === code && e.status === status && e.message === 'd');
      a.close();
    }
  });

  test('logout revokes both tokens, then navigates to /api/auth/logout with the hint', async () => {
    const f = await fakeIssuer();
    let went;
    const auth = await signedIn(createOneAuth, f, { navigate: (u) => (went = u) });
    const { accessToken, refreshToken, idToken } = auth.getTokens();
    const order = [];
    auth.on('logout', () => order.push('logout-event'));
    await auth.logout({ postLogoutRedirectUri: 'https://app.test/bye' });
    const revoke = f.calls.find((c) => c.path === '/api/oauth/logout');
    assert.deepEqual(JSON.parse(revoke.body), { access_token: accessToken, refresh_token: refreshToken });
    const u = new URL(went);
    assert.equal(u.pathname, '/api/auth/logout');
    assert.equal(u.searchParams.get('post_logout_redirect_uri'), 'https://app.test/bye');
    assert.equal(u.searchParams.get('id_token_hint'), idToken);
    assert.equal(auth.getTokens(), null);
    assert.deepEqual(order, ['logout-event']);
  });

  test('silentLogin posts to the exchange with the cookie and answers null without a session', async () => {
    const f = await fakeIssuer();
    const auth = createOneAuth({ issuer: f.issuer, clientId: 'spa', redirectUri: 'https://app.test/callback', fetch: f.fetch, channel: null, locks: null });
    const got = await auth.silentLogin();
    assert.equal(got.claims.sub, 'user-1');
    const call = f.calls.find((c) => c.path === '/api/oauth/web/exchange');
    assert.equal(call.credentials, 'include');
    assert.equal(JSON.parse(call.body).client_id, 'spa');
    const noSession = createOneAuth({ issuer: f.issuer, clientId: 'spa', redirectUri: 'https://app.test/callback', channel: null, locks: null,
      fetch: async () => new Response(JSON.stringify({ error: 'unauthorized', error_description: 'no session', code: 2003 }), { status: 401 }) });
    assert.equal(await noSession.silentLogin(), null);
    auth.close();
  });
});
