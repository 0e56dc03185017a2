// @oneauth/web in headless Chromium against the real oneauth binary, with
// the example SPA (examples/spa) on its own loopback origin: login and
// callback, a refresh that really happens (10 s access tokens), two tabs
// refreshing at once spend the refresh token once, silent login from the
// session cookie, and the two-step logout leaves both tokens inactive and
// the session ended.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import {
  assertPrerequisites,
  freePorts,
  launchChromium,
  makeDataDir,
  removeDataDir,
  runCli,
  startOneAuth,
  waitFor,
  watchPage,
  withDiagnostics as withDiagnosticsOf,
} from '../../../../tests/browser/helpers.mjs';
import { serveSpa } from '../../../../examples/spa/serve.mjs';
import { quickStart } from '../../../test-support/readme.mjs';
import { isActive, logoutRoundTrip, signInAtOneAuth } from '../../../test-support/browser.mjs';

const EMAIL = 'alice@example.com';
const PASSWORD = 'correct horse battery staple';
const STEP = 10_000;
const ACCESS_TTL = 10;
// Refresh 7 s before a 10 s token expires: about 3 s after each rotation.
const REFRESH_BEFORE_MS = 7_000;

const S = { dataDir: null, server: null, spa: null, quick: null, quickPort: null, browser: null };
const PKG = path.resolve(import.meta.dirname ?? path.dirname(new URL(import.meta.url).pathname), '..');
const withDiagnostics = (t, page, events, fn) => withDiagnosticsOf(t, page, events, () => S.server?.out ?? '', fn);

const active = (token) => isActive(S.server.issuer, 'rs', 'rs-secret-0123456789abcdef', token);

const appReady = (page) => page.waitForSelector('body[data-ready=true]', { timeout: STEP });
const tokensOf = (page) => page.evaluate(() => window.oneauth.getTokens());
const eventsOf = (page, name) => page.evaluate((n) => window.oneauthEvents.filter((e) => e.name === n).length, name);

describe('@oneauth/web in Chromium against oneauth', () => {
  before(
    async () => {
      assertPrerequisites();
      const [pub, ui, admin, spaPort, quickPort] = await freePorts(5);
      S.quickPort = quickPort;
      S.dataDir = await makeDataDir();
      const spaUrl = `http://127.0.0.1:${spaPort}`;
      const config = path.join(S.dataDir, 'oneauth.toml');
      await fs.writeFile(config, `[tokens]\naccess_token_ttl_secs = ${ACCESS_TTL}\n`);
      const cli = (...args) => runCli(['--config', config, '--data-dir', S.dataDir, ...args]);
      await cli('clients', 'create', '--id', 'spa', '--name', 'SPA', '--grant-type', 'authorization_code,refresh_token',
        '--response-type', 'code', '--scope', 'openid,profile,email,offline', '--redirect-uri', `${spaUrl}/callback`,
        '--token-endpoint-auth-method', 'none', '--skip-consent');
      await cli('clients', 'create', '--id', 'my-spa', '--name', 'Quick start', '--grant-type', 'authorization_code,refresh_token',
        '--response-type', 'code', '--scope', 'openid,profile,email,offline', '--redirect-uri', `http://127.0.0.1:${quickPort}/callback`,
        '--token-endpoint-auth-method', 'none', '--skip-consent');
      await cli('clients', 'create', '--id', 'rs', '--name', 'Resource server', '--grant-type', 'client_credentials',
        '--secret', 'rs-secret-0123456789abcdef', '--token-endpoint-auth-method', 'client_secret_basic');
      await cli('identities', 'create', '--email', EMAIL, '--password', PASSWORD);
      S.server = await startOneAuth({ dataDir: S.dataDir, ports: [pub, ui, admin], globalArgs: ['--config', config] });
      S.spa = await serveSpa({ port: spaPort, config: { issuer: S.server.issuer, clientId: 'spa', refreshBeforeExpiryMs: REFRESH_BEFORE_MS } });
      S.browser = await launchChromium();
    },
    { timeout: 60_000 },
  );

  after(
    async () => {
      await S.browser?.close().catch(() => {});
      await S.spa?.close();
      await S.quick?.close();
      await S.server?.stop().catch(() => {});
      await removeDataDir(S.dataDir);
    },
    { timeout: 10_000 },
  );

  test('login, refresh, two tabs, silent login, two-step logout', { timeout: 90_000 }, async (t) => {
    const context = await S.browser.newContext({ locale: 'en-US' });
    const refreshes = [];
    context.on('request', (r) => {
      if (new URL(r.url()).pathname === '/api/oauth/refresh' && r.method() === 'POST') refreshes.push(Date.now());
    });
    const page = await context.newPage();
    const events = watchPage(page);
    await withDiagnostics(t, page, events, async () => {
      // Login: the redirect with PKCE, OneAuth's login page, the callback.
      await page.goto(`${S.spa.url}/`, { timeout: STEP });
      await appReady(page);
      assert.equal(await page.textContent('#status'), 'Signed out');
      await signInAtOneAuth(page, { email: EMAIL, password: PASSWORD, landsOn: `${S.spa.url}/**` });
      assert.ok(events.some((e) => e.includes('/oauth2/auth?')), 'went through /oauth2/auth');
      await appReady(page);
      await waitFor('signed in', async () => (await page.textContent('#status')).startsWith('Signed in as '));
      assert.equal(new URL(page.url()).search, '', 'code and state left the address bar');
      const first = await tokensOf(page);
      assert.match(first.accessToken, /^ory_at_/);
      assert.match(first.refreshToken, /^ory_rt_/);
      assert.equal(await eventsOf(page, 'login'), 1);

      // A refresh that really happens, ~3 s after login, and the API call works with the new token.
      await waitFor('an automatic refresh', async () => (await eventsOf(page, 'tokenRefreshed')) >= 1, { timeoutMs: 10_000 });
      const second = await tokensOf(page);
      assert.notEqual(second.accessToken, first.accessToken);
      assert.notEqual(second.refreshToken, first.refreshToken);
      assert.equal(await active(first.refreshToken), false, 'the spent refresh token is gone');
      await page.click('#userinfo');
      await waitFor('userinfo', async () => (await page.textContent('#out')).includes(EMAIL));

      // A second tab takes the first one's tokens; at the next expiry both tabs' timers fire together.
      const page2 = await context.newPage();
      events.push(...['--- tab 2 ---']);
      watchPage(page2);
      await page2.goto(`${S.spa.url}/`, { timeout: STEP });
      await appReady(page2);
      const shared = await tokensOf(page2);
      assert.equal(shared?.refreshToken, (await tokensOf(page)).refreshToken, 'tab 2 got tab 1\'s tokens');
      const before = refreshes.length;
      const [r1, r2] = [await eventsOf(page, 'tokenRefreshed'), await eventsOf(page2, 'tokenRefreshed')];
      await waitFor('both tabs refreshed', async () =>
        (await eventsOf(page, 'tokenRefreshed')) > r1 && (await eventsOf(page2, 'tokenRefreshed')) > r2, { timeoutMs: 12_000 });
      const [t1, t2] = [await tokensOf(page), await tokensOf(page2)];
      assert.equal(t1.refreshToken, t2.refreshToken, 'both tabs hold the same new refresh token');
      assert.notEqual(t1.refreshToken, shared.refreshToken);
      assert.equal(refreshes.length - before, 1, 'one refresh request for two tabs');
      assert.equal(await eventsOf(page, 'unauthenticated'), 0);
      assert.equal(await eventsOf(page2, 'unauthenticated'), 0);
      await page2.close();

      // Silent login: a fresh tab with no tokens in memory and no sibling, from the session cookie.
      await page.close();
      const page3 = await context.newPage();
      const events3 = watchPage(page3);
      await withDiagnostics(t, page3, events3, async () => {
        await page3.goto(`${S.spa.url}/`, { timeout: STEP });
        await appReady(page3);
        assert.equal(await page3.textContent('#status'), 'Signed out');
        await page3.click('#silent');
        await waitFor('silent login', async () => (await page3.textContent('#status')).startsWith('Signed in as '));
        const silent = await tokensOf(page3);
        assert.equal(await active(silent.accessToken), true);
        assert.equal(await active(silent.refreshToken), true);

        // Two-step logout: both tokens revoked, then the session ends and the browser comes back.
        await logoutRoundTrip(page3, events3, `${S.spa.url}/`);
        assert.ok(!events3.some((e) => e.includes(`${S.server.uiUrl}/logout`)), 'no confirmation page: the id_token was the hint');
        await appReady(page3);
        assert.equal(await active(silent.accessToken), false, 'access token revoked');
        assert.equal(await active(silent.refreshToken), false, 'refresh token revoked');
        const verify = await (await fetch(`${S.server.issuer}/oauth/token/verify`, { method: 'POST', body: JSON.stringify({ token: silent.accessToken }) })).json();
        assert.equal(verify.active, false);
        // The session ended: a silent login finds none.
        await page3.click('#silent');
        await waitFor('no session', async () => (await page3.textContent('#out')) === 'No OneAuth session');
      });
    });
    await context.close();
  });

  test("the README's quick start runs as written", { timeout: 40_000 }, async (t) => {
    const source = (await quickStart(PKG)).replaceAll('https://auth.example.com', S.server.issuer);
    S.quick = await serveSpa({ port: S.quickPort, config: {}, appSource: source });
    const context = await S.browser.newContext({ locale: 'en-US' });
    const page = await context.newPage();
    const events = watchPage(page);
    await withDiagnostics(t, page, events, async () => {
      await page.goto(`${S.quick.url}/`, { timeout: STEP });
      await page.waitForFunction(() => document.querySelector('#login').onclick, null, { timeout: STEP });
      assert.equal(await page.textContent('#out'), '', 'no session yet');
      await signInAtOneAuth(page, { email: EMAIL, password: PASSWORD, landsOn: `${S.quick.url}/**` });
      await waitFor('the quick start signed in', async () => (await page.textContent('#out')) === EMAIL);
      assert.equal(new URL(page.url()).pathname, '/');
      // A reload: memory is empty, the silent exchange signs in again.
      await page.reload({ timeout: STEP });
      await page.waitForFunction(() => document.querySelector('#login').onclick, null, { timeout: STEP });
      await waitFor('signed in silently after a reload', async () => (await page.textContent('#out')) === EMAIL);
      await logoutRoundTrip(page, events, `${S.quick.url}/`);
      await page.waitForFunction(() => document.querySelector('#login').onclick, null, { timeout: STEP });
      assert.equal(await page.textContent('#out'), '', 'signed out: no session for the silent exchange');
    });
    await context.close();
  });

  test('login in a popup signs the opener in', { timeout: 40_000 }, async (t) => {
    const context = await S.browser.newContext({ locale: 'en-US' });
    const page = await context.newPage();
    const events = watchPage(page);
    await withDiagnostics(t, page, events, async () => {
      await page.goto(`${S.spa.url}/`, { timeout: STEP });
      await appReady(page);
      const [popup] = await Promise.all([context.waitForEvent('page', { timeout: STEP }), page.click('#popup')]);
      await popup.waitForURL(/\/login\?/, { timeout: STEP });
      // display=popup reached the login page: its popup layout.
      assert.equal(new URL(popup.url()).searchParams.get('mode'), 'popup');
      assert.equal(await popup.getAttribute('body', 'class'), 'popup');
      await popup.fill('#identifier', EMAIL);
      await popup.fill('#password', PASSWORD);
      await Promise.all([popup.waitForEvent('close', { timeout: STEP }), popup.click('button[name=step][value=login]')]);
      await waitFor('the opener signed in', async () => (await page.textContent('#status')).startsWith('Signed in as '));
      assert.equal(new URL(page.url()).pathname, '/', 'the opener never left its page');
      assert.equal(await eventsOf(page, 'login'), 1);
      assert.match((await tokensOf(page)).accessToken, /^ory_at_/);
    });
    await context.close();
  });
});
