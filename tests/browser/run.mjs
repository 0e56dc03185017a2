// End-to-end browser test: a tiny web app uses oidc-client-ts exactly as the
// integration guide's "Using Standard OIDC Libraries" section configures it,
// and signs in through a real OneAuth server in headless Chromium.
//
// Run:  node --test tests/browser/          (picks up e2e.test.mjs -> this file)
//   or  node --test tests/browser/run.mjs
//
// Environment:
//   ONEAUTH_BIN        path to the oneauth binary
//                      (default: $CARGO_TARGET_DIR/debug/oneauth or target/debug/oneauth)
//   CHROMIUM_PATH      chromium executable (default /usr/bin/chromium)
//   ONEAUTH_E2E_KEEP   if set, keep the temporary data directory
//   ONEAUTH_E2E_VERBOSE if set, print every browser event as a test diagnostic

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import fs from 'node:fs/promises';
import http from 'node:http';
import path from 'node:path';
import {
  HERE,
  assertPrerequisites,
  freePorts,
  launchChromium,
  makeDataDir,
  removeDataDir,
  runCli,
  short,
  startOneAuth,
  watchPage,
  withDiagnostics as withDiagnosticsOf,
} from './helpers.mjs';

const SCREENSHOT_DIR = path.join(HERE, 'screenshots');
const OIDC_BUNDLE = path.join(HERE, 'node_modules', 'oidc-client-ts', 'dist', 'browser', 'oidc-client-ts.js');

const EMAIL = 'alice@example.com';
const PASSWORD = 'correct horse battery staple';
const CLIENT_ID = 'web-app';

// Time budget (the whole file must finish well under 90 s).
const SETUP_TIMEOUT_MS = 28_000;
const LOGIN_TEST_TIMEOUT_MS = 15_000;
const WRONG_PW_TEST_TIMEOUT_MS = 10_000;
const REFRESH_LOGOUT_TEST_TIMEOUT_MS = 30_000;
const TEARDOWN_TIMEOUT_MS = 5_000;
const STEP_TIMEOUT_MS = 8_000;

// ---------------------------------------------------------------- test app

function indexHtml(config, postLogoutRedirectUri) {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Test App</title></head>
<body>
<h1>Test App</h1>
<button id="signin" type="button">Sign in</button>
<button id="refresh" type="button">Refresh tokens</button>
<button id="signout" type="button">Sign out</button>
<pre id="result"></pre>
<pre id="error"></pre>
<script src="/oidc-client-ts.js"></script>
<script>
  const settings = ${JSON.stringify(config)};
  const userManager = new oidc.UserManager(settings);
  const showError = (what, e) => {
    const extra = e && e.error ? ' [' + e.error + (e.error_description ? ': ' + e.error_description : '') + ']' : '';
    document.getElementById('error').textContent = what + ' failed: ' + String((e && e.stack) || e) + extra;
  };
  const pick = (u) => u && {
    access_token: u.access_token,
    refresh_token: u.refresh_token || null,
    id_token: u.id_token || null,
    sub: u.profile && u.profile.sub,
    expires_at: u.expires_at,
  };
  document.getElementById('signin').addEventListener('click', () => {
    userManager.signinRedirect().catch((e) => showError('signinRedirect', e));
  });
  // With a refresh token in the stored user, signinSilent() uses
  // grant_type=refresh_token at the token endpoint (no iframe).
  document.getElementById('refresh').addEventListener('click', async () => {
    try {
      const before = await userManager.getUser();
      const after = await userManager.signinSilent();
      document.getElementById('result').textContent = JSON.stringify({ before: pick(before), after: pick(after) });
    } catch (e) {
      showError('signinSilent', e);
    }
  });
  document.getElementById('signout').addEventListener('click', () => {
    userManager.signoutRedirect({ post_logout_redirect_uri: ${JSON.stringify(postLogoutRedirectUri)} })
      .catch((e) => showError('signoutRedirect', e));
  });
</script>
</body></html>`;
}

function callbackHtml(config) {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Test App - callback</title></head>
<body>
<h1>Callback</h1>
<p>sub: <span id="sub"></span></p>
<p>email: <span id="email"></span></p>
<pre id="error"></pre>
<script src="/oidc-client-ts.js"></script>
<script>
  const settings = ${JSON.stringify(config)};
  const userManager = new oidc.UserManager(settings);
  userManager.signinRedirectCallback().then((user) => {
    document.getElementById('email').textContent = user.profile.email || '';
    document.getElementById('sub').textContent = user.profile.sub || '';
    if (!user.profile.sub) document.getElementById('error').textContent = 'no sub in profile: ' + JSON.stringify(user.profile);
  }).catch((e) => {
    const extra = e && e.error ? ' [' + e.error + (e.error_description ? ': ' + e.error_description : '') + ']' : '';
    document.getElementById('error').textContent = 'signinRedirectCallback failed: ' + String((e && e.message) || e) + extra;
  });
</script>
</body></html>`;
}

async function startApp(port, config, requestLog) {
  const bundle = await fs.readFile(OIDC_BUNDLE);
  const server = http.createServer((req, res) => {
    const url = new URL(req.url, `http://127.0.0.1:${port}`);
    requestLog.push({ at: Date.now(), method: req.method, url: url.href });
    const send = (status, type, body) => {
      res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store' });
      res.end(body);
    };
    if (url.pathname === '/' || url.pathname === '/index.html') send(200, 'text/html; charset=utf-8', indexHtml(config, `http://127.0.0.1:${port}/`));
    else if (url.pathname === '/callback') send(200, 'text/html; charset=utf-8', callbackHtml(config));
    else if (url.pathname === '/oidc-client-ts.js') send(200, 'text/javascript; charset=utf-8', bundle);
    else if (url.pathname === '/favicon.ico') send(204, 'image/x-icon', '');
    else send(404, 'text/plain', 'not found');
  });
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', resolve);
  });
  return server;
}

// ---------------------------------------------------------------- state

const S = {
  dataDir: null,
  server: null, // startOneAuth() handle
  app: null,
  appRequests: [],
  browser: null,
  ports: null,
  issuer: null,
  uiUrl: null,
  appUrl: null,
};

const withDiagnostics = (t, page, events, fn) => withDiagnosticsOf(t, page, events, () => S.server?.out ?? '', fn);

function assertLoginUrl(urlString) {
  const u = new URL(urlString);
  assert.equal(u.origin, S.uiUrl, `expected the OneAuth UI origin, got ${urlString}`);
  assert.equal(u.pathname, '/login', `expected /login, got ${urlString}`);
  assert.ok(u.searchParams.get('login_challenge'), `login_challenge missing in ${urlString}`);
}

const loginUrlPattern = () => (url) =>
  url.origin === S.uiUrl && url.pathname === '/login' && url.searchParams.has('login_challenge');

async function goToLogin(page) {
  await page.goto(`${S.appUrl}/`, { timeout: STEP_TIMEOUT_MS });
  await page.click('#signin', { timeout: STEP_TIMEOUT_MS });
  await page.waitForURL(loginUrlPattern(), { timeout: STEP_TIMEOUT_MS });
  assertLoginUrl(page.url());
  await page.locator('input[name=identifier]').waitFor({ state: 'visible', timeout: STEP_TIMEOUT_MS });
}

// ---------------------------------------------------------------- tests

describe('OneAuth browser login with oidc-client-ts', () => {
  before(
    async () => {
      assertPrerequisites();
      assert.ok(existsSync(OIDC_BUNDLE), `oidc-client-ts browser bundle missing (run npm ci in tests/browser)`);

      S.ports = await freePorts(4);
      const [pub, ui, , appPort] = S.ports;
      S.issuer = `http://127.0.0.1:${pub}`;
      S.uiUrl = `http://127.0.0.1:${ui}`;
      S.appUrl = `http://127.0.0.1:${appPort}`;
      S.dataDir = await makeDataDir();

      await runCli([
        '--data-dir', S.dataDir,
        'clients', 'create',
        '--id', CLIENT_ID,
        '--name', 'Web App',
        '--grant-type', 'authorization_code,refresh_token',
        '--response-type', 'code',
        '--scope', 'openid,profile,email,offline',
        '--redirect-uri', `${S.appUrl}/callback`,
        '--post-logout-callback', `${S.appUrl}/`,
        '--token-endpoint-auth-method', 'none',
        '--skip-consent',
      ]);
      await runCli([
        '--data-dir', S.dataDir,
        'identities', 'create',
        '--email', EMAIL,
        '--password', PASSWORD,
        '--name', 'Alice Example',
      ]);

      // The guide's settings, verbatim (authority = ONEAUTH_API_URL).
      const config = {
        authority: S.issuer,
        client_id: CLIENT_ID,
        redirect_uri: `${S.appUrl}/callback`,
        response_type: 'code',
        scope: 'openid profile email offline',
      };
      S.app = await startApp(appPort, config, S.appRequests);
      S.server = await startOneAuth({ dataDir: S.dataDir, ports: S.ports });

      S.browser = await launchChromium();
    },
    { timeout: SETUP_TIMEOUT_MS },
  );

  after(
    async () => {
      await S.browser?.close().catch(() => {});
      await S.server?.stop().catch(() => {});
      if (S.app) await new Promise((r) => S.app.close(r));
      S.app?.closeAllConnections?.();
      await removeDataDir(S.dataDir);
    },
    { timeout: TEARDOWN_TIMEOUT_MS },
  );

  test('sign in with email + password returns to the app with the user profile', { timeout: LOGIN_TEST_TIMEOUT_MS }, async (t) => {
    const context = await S.browser.newContext();
    const page = await context.newPage();
    const events = watchPage(page);
    try {
      await withDiagnostics(t, page, events, async () => {
        await goToLogin(page);

        await fs.mkdir(SCREENSHOT_DIR, { recursive: true });
        await page.screenshot({ path: path.join(SCREENSHOT_DIR, 'login.png'), fullPage: true });

        await page.fill('input[name=identifier]', EMAIL);
        await page.fill('input[name=password]', PASSWORD);
        await page.click('button[type=submit]');

        await page.waitForURL((u) => u.origin === S.appUrl && u.pathname === '/callback', { timeout: STEP_TIMEOUT_MS });
        await page.locator('#sub:not(:empty), #error:not(:empty)').first().waitFor({ timeout: STEP_TIMEOUT_MS });

        const error = await page.textContent('#error');
        assert.equal(error, '', `callback page reported an error: ${error}`);
        const sub = (await page.textContent('#sub')).trim();
        const email = (await page.textContent('#email')).trim();
        assert.ok(sub.length > 0, 'profile.sub is empty');
        assert.equal(email, EMAIL, 'profile.email');

        // The authorization response carried code, state and iss (RFC 9207).
        const cb = S.appRequests.find((r) => new URL(r.url).pathname === '/callback');
        assert.ok(cb, 'app never received /callback');
        const q = new URL(cb.url).searchParams;
        assert.ok(q.get('code'), 'code missing from callback');
        assert.ok(q.get('state'), 'state missing from callback');
        assert.equal(q.get('iss'), S.issuer, 'iss in the authorization response');
      });
    } finally {
      await context.close().catch(() => {});
    }
  });

  test('wrong password shows the login page again with an error and does not return to the app', { timeout: WRONG_PW_TEST_TIMEOUT_MS }, async (t) => {
    const context = await S.browser.newContext();
    const page = await context.newPage();
    const events = watchPage(page);
    try {
      await withDiagnostics(t, page, events, async () => {
        await goToLogin(page);
        const alerts = page.locator('[role="alert"]').filter({ hasText: /\S/ });
        assert.equal(await alerts.count(), 0, 'fresh login page should not show an error yet');

        const startedAt = Date.now();
        await page.fill('input[name=identifier]', EMAIL);
        await page.fill('input[name=password]', 'definitely not the password');
        await page.click('button[type=submit]');

        await alerts.first().waitFor({ state: 'visible', timeout: STEP_TIMEOUT_MS });
        await page.waitForLoadState('load', { timeout: STEP_TIMEOUT_MS });

        const u = new URL(page.url());
        assert.equal(u.origin, S.uiUrl, `expected to stay on the OneAuth UI, got ${page.url()}`);
        await page.locator('input[name=password]').waitFor({ state: 'visible', timeout: STEP_TIMEOUT_MS });
        const callbacks = S.appRequests.filter((r) => r.at >= startedAt && new URL(r.url).pathname === '/callback');
        assert.equal(callbacks.length, 0, 'browser was redirected to the app after a wrong password');
      });
    } finally {
      await context.close().catch(() => {});
    }
  });

  test('signinSilent refreshes with the refresh token; signoutRedirect ends the session', { timeout: REFRESH_LOGOUT_TEST_TIMEOUT_MS }, async (t) => {
    const context = await S.browser.newContext();
    const page = await context.newPage();
    const events = watchPage(page);
    // Every request the page makes to the OneAuth origins, with POST bodies.
    const oneauthRequests = [];
    page.on('request', (r) => {
      const u = new URL(r.url());
      if (u.origin === S.issuer || u.origin === S.uiUrl) {
        oneauthRequests.push({ at: Date.now(), method: r.method(), url: r.url(), body: r.postData() ?? '', nav: r.isNavigationRequest() });
      }
    });
    page.on('response', async (r) => {
      if (r.status() >= 400 && new URL(r.url()).origin === S.issuer) {
        const body = await r.text().catch(() => '<unreadable>');
        events.push(`  body of ${r.status()} ${short(r.url())}: ${body.slice(0, 500)}`);
      }
    });
    try {
      await withDiagnostics(t, page, events, async () => {
        // -- sign in
        await goToLogin(page);
        await page.fill('input[name=identifier]', EMAIL);
        await page.fill('input[name=password]', PASSWORD);
        await page.click('button[type=submit]');
        await page.waitForURL((u) => u.origin === S.appUrl && u.pathname === '/callback', { timeout: STEP_TIMEOUT_MS });
        await page.locator('#sub:not(:empty), #error:not(:empty)').first().waitFor({ timeout: STEP_TIMEOUT_MS });
        assert.equal(await page.textContent('#error'), '', 'callback page reported an error');

        // -- 1. refresh through signinSilent() (same tab: the user is in sessionStorage)
        await page.goto(`${S.appUrl}/`, { timeout: STEP_TIMEOUT_MS });
        const refreshStartedAt = Date.now();
        await page.click('#refresh', { timeout: STEP_TIMEOUT_MS });
        await page.locator('#result:not(:empty), #error:not(:empty)').first().waitFor({ timeout: STEP_TIMEOUT_MS });
        const refreshError = await page.textContent('#error');
        assert.equal(refreshError, '', `signinSilent reported an error: ${refreshError}`);
        const { before, after } = JSON.parse(await page.textContent('#result'));

        assert.ok(before, 'no stored user before signinSilent');
        assert.ok(before.refresh_token, 'the stored user has no refresh token (scope offline requested)');
        assert.ok(after?.access_token, 'signinSilent returned no access token');
        assert.ok(after.refresh_token, 'signinSilent returned no refresh token');
        assert.notEqual(after.access_token, before.access_token, 'access token did not change on refresh');
        assert.notEqual(after.refresh_token, before.refresh_token, 'refresh token did not rotate');
        assert.ok(after.sub, 'profile.sub empty after refresh');
        assert.equal(after.sub, before.sub, 'profile.sub changed on refresh');

        const during = oneauthRequests.filter((r) => r.at >= refreshStartedAt);
        const refreshCalls = during.filter(
          (r) => r.method === 'POST' && new URL(r.url).pathname === '/oauth2/token' &&
            new URLSearchParams(r.body).get('grant_type') === 'refresh_token',
        );
        assert.equal(refreshCalls.length, 1, `expected one refresh_token grant, saw:\n${during.map((r) => `${r.method} ${short(r.url)}`).join('\n')}`);
        assert.equal(new URLSearchParams(refreshCalls[0].body).get('refresh_token'), before.refresh_token, 'refresh used the stored refresh token');
        assert.ok(!during.some((r) => new URL(r.url).pathname === '/oauth2/auth'), 'signinSilent fell back to an iframe authorize request');

        // The new access token is active at the verify endpoint (asked from node).
        const vr = await fetch(`${S.issuer}/oauth/token/verify`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ token: after.access_token }),
          signal: AbortSignal.timeout(STEP_TIMEOUT_MS),
        });
        const vtext = await vr.text();
        assert.equal(vr.status, 200, `POST /oauth/token/verify -> HTTP ${vr.status}: ${vtext.slice(0, 500)}`);
        const verified = JSON.parse(vtext);
        assert.equal(verified.active, true, `new access token not active: ${vtext}`);
        assert.equal(verified.sub, before.sub, `verify sub: ${vtext}`);

        // -- 2. RP-initiated logout back to the app
        const logoutStartedAt = Date.now();
        const backOnApp = page.waitForEvent('framenavigated', {
          predicate: (f) => {
            if (f !== page.mainFrame()) return false;
            const u = new URL(f.url());
            return u.origin === S.appUrl && u.pathname === '/';
          },
          timeout: STEP_TIMEOUT_MS,
        });
        await page.click('#signout', { timeout: STEP_TIMEOUT_MS });
        await backOnApp;
        await page.waitForLoadState('load', { timeout: STEP_TIMEOUT_MS });

        const logoutReq = oneauthRequests.find(
          (r) => r.at >= logoutStartedAt && r.url.startsWith(`${S.issuer}/oauth2/sessions/logout`),
        );
        assert.ok(logoutReq, 'the browser never went to the end_session_endpoint');
        const lq = new URL(logoutReq.url).searchParams;
        assert.ok(lq.get('id_token_hint'), 'id_token_hint not sent to the end_session_endpoint');
        assert.equal(lq.get('post_logout_redirect_uri'), `${S.appUrl}/`);
        const landed = new URL(page.url());
        assert.equal(`${landed.origin}${landed.pathname}`, `${S.appUrl}/`, `did not land back on the app: ${page.url()}`);
        if (landed.searchParams.has('state')) {
          assert.equal(landed.searchParams.get('state'), lq.get('state'), 'state echoed back after logout');
        }

        // -- the session really ended: signing in again asks for the password
        const signinAgainAt = Date.now();
        await page.click('#signin', { timeout: STEP_TIMEOUT_MS });
        await page.waitForURL(
          (u) => loginUrlPattern()(u) || (u.origin === S.appUrl && u.pathname === '/callback'),
          { timeout: STEP_TIMEOUT_MS },
        );
        assert.ok(
          !S.appRequests.some((r) => r.at >= signinAgainAt && new URL(r.url).pathname === '/callback'),
          `signed in again without a password after logout: ${page.url()}`,
        );
        assertLoginUrl(page.url());
        await page.locator('input[name=password]').waitFor({ state: 'visible', timeout: STEP_TIMEOUT_MS });
      });
    } finally {
      await context.close().catch(() => {});
    }
  });
});
