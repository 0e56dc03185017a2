// Social login in headless Chromium: with the guide's `enable_social=true`
// the login page shows a button for an upstream OpenID Connect provider —
// a second OneAuth, named `localhost` so the browser keeps its cookies apart
// from the first's on 127.0.0.1 — and clicking it goes through the
// upstream's own login page and back into the client app with a code whose
// exchange works.
//
// Run:  node --test tests/browser/           (ONEAUTH_BIN, CHROMIUM_PATH as in run.mjs)

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import http from 'node:http';
import path from 'node:path';
import {
  REPO_ROOT,
  assertPrerequisites,
  axeViolations,
  authorizationRequest,
  checkedScreenshot,
  exchangeCode,
  freePorts,
  launchChromium,
  makeDataDir,
  removeDataDir,
  runCli,
  startOneAuth,
  watchPage,
  withDiagnostics,
} from './helpers.mjs';

const PASSWORD = 'correct horse battery staple';
const UPSTREAM_SECRET = 'browser-test-upstream-secret-0123';
const STEP = 10_000;
const SCREENSHOT_DIR = process.env.ONEAUTH_SCREENSHOT_DIR
  ? path.resolve(process.env.ONEAUTH_SCREENSHOT_DIR)
  : path.join(REPO_ROOT, 'docs', 'screenshots');

const S = { dirs: [], upstream: null, downstream: null, app: null, appUrl: null, browser: null };

const serverOut = () => `--- downstream ---\n${S.downstream?.out ?? ''}\n--- upstream ---\n${S.upstream?.out ?? ''}`;

describe('Social login through an upstream OneAuth in Chromium', () => {
  before(
    async () => {
      assertPrerequisites();
      const [up1, up2, up3, down1, down2, down3, appPort] = await freePorts(7);
      S.appUrl = `http://127.0.0.1:${appPort}`;
      const upDir = await makeDataDir();
      const downDir = await makeDataDir();
      S.dirs.push(upDir, downDir);

      S.upstream = await startOneAuth({ dataDir: upDir, ports: [up1, up2, up3], host: 'localhost' });
      const downUi = `http://127.0.0.1:${down2}`;
      await runCli([
        '--data-dir', upDir, 'clients', 'create',
        '--id', 'downstream', '--name', 'Downstream', '--secret', UPSTREAM_SECRET,
        '--grant-type', 'authorization_code', '--response-type', 'code', '--scope', 'openid,email,profile',
        '--redirect-uri', `${downUi}/social/corp/callback`,
        '--token-endpoint-auth-method', 'client_secret_basic', '--skip-consent',
      ]);
      await runCli(['--data-dir', upDir, 'identities', 'create', '--email', 'dana@example.org', '--password', PASSWORD, '--name', 'Dana Upstream']);

      const config = path.join(downDir, 'oneauth.toml');
      await fs.writeFile(
        config,
        [
          '[[social.providers]]',
          'id = "corp"',
          'display_name = "Corp SSO"',
          'kind = "oidc"',
          `issuer = ${JSON.stringify(S.upstream.issuer)}`,
          'client_id = "downstream"',
          `client_secret = ${JSON.stringify(UPSTREAM_SECRET)}`,
          '',
        ].join('\n'),
      );
      S.downstream = await startOneAuth({ dataDir: downDir, ports: [down1, down2, down3], globalArgs: ['--config', config] });
      await runCli([
        '--data-dir', downDir, 'clients', 'create', '--id', 'app', '--name', 'App',
        '--grant-type', 'authorization_code', '--response-type', 'code', '--scope', 'openid,profile,email',
        '--redirect-uri', `${S.appUrl}/callback`, '--token-endpoint-auth-method', 'none', '--skip-consent',
      ]);

      S.app = http.createServer((req, res) => {
        res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
        res.end('<!doctype html><html lang="en"><title>Callback</title><h1>Callback</h1></html>');
      });
      await new Promise((r) => S.app.listen(appPort, '127.0.0.1', r));
      S.browser = await launchChromium();
    },
    { timeout: 60_000 },
  );

  after(async () => {
    await S.browser?.close();
    S.app?.close();
    await S.downstream?.stop();
    await S.upstream?.stop();
    for (const d of S.dirs) await removeDataDir(d);
  });

  test('the button leads through the upstream login and back to the app with a working code', { timeout: 60_000 }, async (t) => {
    const context = await S.browser.newContext({ locale: 'en-US' });
    const page = await context.newPage();
    const events = watchPage(page);
    await withDiagnostics(t, page, events, serverOut, async () => {
      const req = authorizationRequest(S.downstream.issuer, { clientId: 'app', redirectUri: `${S.appUrl}/callback`, scope: 'openid profile email' });
      await page.goto(req.url);
      await page.waitForURL((u) => u.pathname === '/login', { timeout: STEP });
      const login = new URL(page.url());
      login.searchParams.set('enable_social', 'true');
      await page.goto(login.href);

      // In Chinese too, from the catalog.
      const zh = new URL(login);
      zh.searchParams.set('ui_locales', 'zh-CN');
      await page.goto(zh.href);
      await page.getByRole('link', { name: '使用 Corp SSO 继续' }).waitFor({ timeout: STEP });
      await page.goto(login.href);

      const button = page.getByRole('link', { name: 'Continue with Corp SSO' });
      const bad = (await axeViolations(page)).filter((v) => v.impact === 'serious' || v.impact === 'critical');
      assert.deepEqual(bad, [], 'login page with social buttons: serious or critical accessibility violations');
      await checkedScreenshot(page, SCREENSHOT_DIR, 'login-social-en.png');
      await button.click();
      // The upstream's own login page.
      await page.waitForURL((u) => u.host === new URL(S.upstream.uiUrl).host && u.pathname === '/login', { timeout: STEP });
      await page.fill('#identifier', 'dana@example.org');
      await page.fill('#password', PASSWORD);
      await page.click('button[name=step][value=login]');

      await page.waitForURL((u) => u.origin === S.appUrl && u.pathname === '/callback', { timeout: STEP });
      const params = new URL(page.url()).searchParams;
      assert.equal(params.get('state'), req.state);
      const { claims } = await exchangeCode(S.downstream.issuer, req, params.get('code'));
      assert.deepEqual(claims.amr, ['oidc']);
      assert.equal(claims.name, 'Dana Upstream');

      // The browser holds a downstream session of that identity.
      await page.goto(`${S.downstream.uiUrl}/settings`);
      assert.equal(new URL(page.url()).pathname, '/settings');
      assert.equal(await page.inputValue('#name'), 'Dana Upstream');
    });
    await context.close();
  });
});
