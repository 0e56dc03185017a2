// The backend-for-frontend helper (createBff) with the example app of
// examples/bff, in Chromium against the real binary: login through the
// server, the page's script sees no token (httpOnly, sealed cookie), the
// server refreshes (10 s access tokens), and the two-step logout revokes
// both tokens.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import {
  assertPrerequisites, freePorts, launchChromium, makeDataDir, removeDataDir, runCli, startOneAuth, waitFor, watchPage,
  withDiagnostics as withDiagnosticsOf,
} from '../../../../tests/browser/helpers.mjs';
import { startBffExample } from '../../../../examples/bff/server.mjs';
import { isActive, logoutRoundTrip, signInAtOneAuth } from '../../../test-support/browser.mjs';

const EMAIL = 'bob@example.com';
const PASSWORD = 'correct horse battery staple';
const SECRET = 'bff-secret-0123456789abcdef';
const STEP = 10_000;
const S = { dataDir: null, server: null, app: null, browser: null };
const withDiagnostics = (t, page, events, fn) => withDiagnosticsOf(t, page, events, () => S.server?.out ?? '', fn);

const active = (token) => isActive(S.server.issuer, 'bff', SECRET, token);

describe('@oneauth/node backend-for-frontend in Chromium', () => {
  before(async () => {
    assertPrerequisites();
    const [pub, ui, admin, appPort] = await freePorts(4);
    S.dataDir = await makeDataDir();
    const config = path.join(S.dataDir, 'oneauth.toml');
    await fs.writeFile(config, '[tokens]\naccess_token_ttl_secs = 10\n');
    const cli = (...a) => runCli(['--config', config, '--data-dir', S.dataDir, ...a]);
    await cli('clients', 'create', '--id', 'bff', '--name', 'BFF', '--grant-type', 'authorization_code,refresh_token', '--response-type', 'code',
      '--scope', 'openid,profile,email,offline', '--redirect-uri', `http://127.0.0.1:${appPort}/auth/callback`, '--secret', SECRET,
      '--token-endpoint-auth-method', 'client_secret_basic', '--skip-consent');
    await cli('identities', 'create', '--email', EMAIL, '--password', PASSWORD);
    S.server = await startOneAuth({ dataDir: S.dataDir, ports: [pub, ui, admin], globalArgs: ['--config', config] });
    S.app = await startBffExample({ port: appPort, issuer: S.server.issuer, clientId: 'bff', clientSecret: SECRET, cookieSecret: 'x'.repeat(40), refreshBeforeExpiryMs: 8000 });
    S.browser = await launchChromium();
  }, { timeout: 60_000 });

  after(async () => {
    await S.browser?.close().catch(() => {});
    await S.app?.close();
    await S.server?.stop().catch(() => {});
    await removeDataDir(S.dataDir);
  }, { timeout: 10_000 });

  test('login, no token in the page, server-side refresh, two-step logout', { timeout: 60_000 }, async (t) => {
    const context = await S.browser.newContext({ locale: 'en-US' });
    const page = await context.newPage();
    const events = watchPage(page);
    await withDiagnostics(t, page, events, async () => {
      await page.goto(`${S.app.url}/`, { timeout: STEP });
      await page.waitForSelector('body[data-ready=true]', { timeout: STEP });
      assert.equal(await page.textContent('#status'), 'Signed out');
      await signInAtOneAuth(page, { email: EMAIL, password: PASSWORD, landsOn: `${S.app.url}/` });
      await page.waitForSelector('body[data-ready=true]', { timeout: STEP });
      assert.match(await page.textContent('#status'), /^Signed in as /);

      assert.equal(await page.evaluate(() => document.cookie), '', 'the page sees no cookie');
      const [cookie] = (await context.cookies(S.app.url)).filter((c) => c.name === 'oneauth_session');
      assert.ok(cookie.httpOnly);
      assert.equal(cookie.sameSite, 'Lax');
      assert.ok(!cookie.value.includes('ory_'), 'sealed, no token in clear');

      await page.click('#profile');
      await waitFor('the profile through the BFF', async () => (await page.textContent('#out')).includes(EMAIL));

      // After 2 s the 10 s token is due (8 s margin): the next call refreshes server-side.
      const refreshes = () => (S.server.out.match(/path=\/oauth2\/token status=200/g) ?? []).length;
      const before = refreshes();
      await new Promise((r) => setTimeout(r, 2500));
      await page.click('#profile');
      await waitFor('a refresh by the BFF', () => refreshes() > before);
      const sealed = (await context.cookies(S.app.url)).find((c) => c.name === 'oneauth_session').value;
      assert.notEqual(sealed, cookie.value, 'the cookie was resealed with the new tokens');

      // Tokens are only server-side: read them through the example's own key for the revocation check.
      const { Bff } = await import('../dist/index.js');
      const peek = new Bff({ issuer: S.server.issuer, clientId: 'bff', clientSecret: SECRET, redirectUri: `${S.app.url}/auth/callback`, cookieSecret: 'x'.repeat(40), refreshBeforeExpiryMs: 0 });
      const session = await peek.session({ headers: { cookie: `oneauth_session=${sealed}` } }, { setHeader() {}, getHeader() {} });
      assert.equal(await active(session.tokens.refreshToken), true);

      await logoutRoundTrip(page, events, `${S.app.url}/`);
      await page.waitForSelector('body[data-ready=true]', { timeout: STEP });
      assert.equal(await page.textContent('#status'), 'Signed out');
      assert.equal(await active(session.tokens.accessToken), false);
      assert.equal(await active(session.tokens.refreshToken), false);
    });
    await context.close();
  });
});
