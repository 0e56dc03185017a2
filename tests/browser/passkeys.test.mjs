// Passkeys (WebAuthn, issue 17) in headless Chromium with its virtual
// authenticator (DevTools protocol: ctap2, internal transport, resident
// keys, user verification): register a passkey from the settings page,
// rename it, sign in without a password through an OAuth2 flow (the
// id_token's amr says hwk and mfa), a failed user verification gives a
// clean message, remove the passkey. The UI is served on `localhost`: an
// IP address cannot be a WebAuthn RP ID. Screenshots of the new parts in
// English and Chinese, axe-core on each.
//
// Run:  node --test tests/browser/passkeys.test.mjs   (ONEAUTH_BIN, CHROMIUM_PATH as in run.mjs)

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs/promises';
import http from 'node:http';
import path from 'node:path';
import {
  REPO_ROOT,
  assertPrerequisites,
  authorizationRequest,
  axeViolations,
  checkedScreenshot,
  exchangeCode,
  freePorts,
  launchChromium,
  makeDataDir,
  removeDataDir,
  runCli,
  startOneAuth,
  watchPage,
  withDiagnostics as withDiagnosticsOf,
} from './helpers.mjs';

const PASSWORD = 'correct horse battery staple';
const EMAIL = 'pat@example.com';
/** Signs in with a password, then a passkey as the second factor. */
const SAM = 'sam@example.com';
const STEP = 10_000;
const SCREENSHOT_DIR = process.env.ONEAUTH_SCREENSHOT_DIR
  ? path.resolve(process.env.ONEAUTH_SCREENSHOT_DIR)
  : path.join(REPO_ROOT, 'docs', 'screenshots');

const S = { dataDir: null, server: null, browser: null, app: null, appUrl: null, credentials: [] };

const withDiagnostics = (t, page, events, fn) => withDiagnosticsOf(t, page, events, () => S.server?.out ?? '', fn);

/**
 * A page with a virtual authenticator of its own (a page without one waits
 * forever in create()), holding `credentials` (from an earlier page).
 */
async function newPage(locale = 'en-US', credentials = [], browser = S.browser) {
  const context = await browser.newContext({ locale });
  const page = await context.newPage();
  const cdp = await context.newCDPSession(page);
  await cdp.send('WebAuthn.enable', { enableUI: false });
  const { authenticatorId } = await cdp.send('WebAuthn.addVirtualAuthenticator', {
    options: {
      protocol: 'ctap2',
      ctap2Version: 'ctap2_1',
      transport: 'internal',
      hasResidentKey: true,
      hasUserVerification: true,
      isUserVerified: true,
      automaticPresenceSimulation: true,
    },
  });
  for (const credential of credentials) await cdp.send('WebAuthn.addCredential', { authenticatorId, credential });
  const authenticator = {
    credentials: async () => (await cdp.send('WebAuthn.getCredentials', { authenticatorId })).credentials,
    userVerified: (isUserVerified) => cdp.send('WebAuthn.setUserVerified', { authenticatorId, isUserVerified }),
  };
  return { context, page, events: watchPage(page), authenticator };
}

async function passwordLogin(page, email = EMAIL) {
  await page.fill('#identifier', email);
  await page.fill('#password', PASSWORD);
  await Promise.all([page.waitForNavigation({ timeout: STEP }), page.click('button[name=step][value=login]')]);
}

async function axeClean(page, what) {
  const violations = await axeViolations(page);
  assert.deepEqual(violations, [], `${what}: axe-core violations`);
}

async function shot(page, name) {
  if (process.env.UPDATE_SCREENSHOTS === '1' || process.env.ONEAUTH_SCREENSHOT_DIR) {
    await fs.mkdir(SCREENSHOT_DIR, { recursive: true });
  }
  await checkedScreenshot(page, SCREENSHOT_DIR, name);
}

describe('Passkeys in Chromium with a virtual authenticator', () => {
  before(
    async () => {
      assertPrerequisites();
      const [pub, ui, admin, appPort] = await freePorts(4);
      S.appUrl = `http://127.0.0.1:${appPort}`;
      S.dataDir = await makeDataDir();
      const config = path.join(S.dataDir, 'oneauth.toml');
      await fs.writeFile(
        config,
        ['[login]', 'methods = ["password", "passkey"]', '[limits]', 'login_per_ip_per_minute = 1000', ''].join('\n'),
      );
      await runCli([
        '--data-dir', S.dataDir,
        'clients', 'create',
        '--id', 'web-app',
        '--name', 'Web App',
        '--grant-type', 'authorization_code,refresh_token',
        '--response-type', 'code',
        '--scope', 'openid,profile,email,offline',
        '--redirect-uri', `${S.appUrl}/callback`,
        '--token-endpoint-auth-method', 'none',
        '--skip-consent',
      ]);
      await runCli(['--data-dir', S.dataDir, 'identities', 'create', '--email', EMAIL, '--password', PASSWORD, '--name', 'Pat Passkey']);
      await runCli(['--data-dir', S.dataDir, 'identities', 'create', '--email', SAM, '--password', PASSWORD, '--name', 'Sam Second']);
      S.app = http.createServer((req, res) => {
        res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
        res.end('<!doctype html><html lang="en"><title>Callback</title><h1>Callback</h1></html>');
      });
      await new Promise((resolve) => S.app.listen(appPort, '127.0.0.1', resolve));
      S.server = await startOneAuth({
        dataDir: S.dataDir,
        ports: [pub, ui, admin],
        globalArgs: ['--config', config],
        host: 'localhost',
      });
      S.browser = await launchChromium();
    },
    { timeout: 40_000 },
  );

  after(
    async () => {
      await S.browser?.close().catch(() => {});
      await S.server?.stop().catch(() => {});
      if (S.app) {
        S.app.closeAllConnections?.();
        await new Promise((r) => S.app.close(r));
      }
      await removeDataDir(S.dataDir);
    },
    { timeout: 8_000 },
  );

  test('register a passkey from the settings page, rename it', { timeout: 60_000 }, async (t) => {
    const { context, page, events, authenticator } = await newPage();
    await withDiagnostics(t, page, events, async () => {
      await page.goto(`${S.server.uiUrl}/settings`);
      await passwordLogin(page);
      assert.equal(new URL(page.url()).pathname, '/settings');
      await page.waitForSelector('#passkeys-h');
      assert.match(await page.textContent('.passkeys-none'), /No passkeys yet/);
      await axeClean(page, 'settings, adding a first passkey');
      await shot(page, 'settings-passkey-add-en.png');
      await page.goto(`${S.server.uiUrl}/settings?ui_locales=zh-CN`);
      assert.match(await page.textContent('form[data-passkey-register] button'), /添加通行密钥/);
      await axeClean(page, 'settings, adding a first passkey (zh)');
      await shot(page, 'settings-passkey-add-zh.png');
      await page.goto(`${S.server.uiUrl}/settings`);

      await page.fill('#passkey-new-name', 'Laptop');
      await Promise.all([
        page.waitForURL((u) => u.searchParams.get('saved') === 'passkey', { timeout: STEP }),
        page.click('form[data-passkey-register] button'),
      ]);
      assert.match(await page.textContent('[role=status]'), /The passkey was added/);
      assert.equal(await page.inputValue('#passkey-name-1'), 'Laptop');
      assert.match(await page.textContent('.passkey-last-used'), /never/);
      const creds = await authenticator.credentials();
      assert.equal(creds.length, 1);
      assert.equal(creds[0].isResidentCredential, true, 'a discoverable credential');
      S.credentials = creds;

      // A second passkey needs a login that proved the first one.
      assert.ok(await page.isVisible('#passkey-reauth'), 'the password session may not add another');
      assert.equal(await page.locator('[data-passkey-remove]').count(), 0);

      await page.fill('#passkey-name-1', 'Work laptop');
      await Promise.all([
        page.waitForURL((u) => u.searchParams.get('saved') === 'passkey_renamed', { timeout: STEP }),
        page.click('form[data-passkey-rename] button[type=submit]'),
      ]);
      assert.equal(await page.inputValue('#passkey-name-1'), 'Work laptop');
      await axeClean(page, 'settings with a passkey');
      await shot(page, 'settings-passkeys-en.png');

      await page.goto(`${S.server.uiUrl}/settings?ui_locales=zh-CN`);
      await page.waitForSelector('#passkeys-h');
      assert.match(await page.textContent('#passkeys-h'), /通行密钥/);
      await axeClean(page, 'settings with a passkey (zh)');
      await shot(page, 'settings-passkeys-zh.png');
    });
    await context.close();
  });

  test('autofill (conditional mediation) signs in as the page loads', { timeout: 30_000 }, async (t) => {
    const stale = S.credentials;
    const { context, page, events, authenticator } = await newPage('en-US', stale);
    await withDiagnostics(t, page, events, async () => {
      const req = authorizationRequest(S.server.issuer, { clientId: 'web-app', redirectUri: `${S.appUrl}/callback` });
      // Chromium's virtual authenticator picks the one credential that a
      // person would pick from the username field's suggestions.
      await Promise.all([page.waitForURL((u) => u.origin === S.appUrl, { timeout: STEP }), page.goto(req.url)]);
      const { claims } = await exchangeCode(S.server.issuer, req, new URL(page.url()).searchParams.get('code'));
      assert.deepEqual(claims.amr, ['hwk', 'mfa']);
      S.credentials = await authenticator.credentials();
      assert.ok(S.credentials[0].signCount > stale[0].signCount, 'the counter moved on');
    });
    await context.close();

    // A copy of the credential from before that sign-in (a cloned
    // authenticator: its counter is behind the stored one) is refused.
    const clone = await newPage('en-US', stale);
    await withDiagnostics(t, clone.page, clone.events, async () => {
      const req = authorizationRequest(S.server.issuer, { clientId: 'web-app', redirectUri: `${S.appUrl}/callback` });
      const [refused] = await Promise.all([
        clone.page.waitForResponse((r) => r.url().endsWith('/api/identity/passkeys/login'), { timeout: STEP }),
        clone.page.goto(req.url),
      ]);
      assert.equal(refused.status(), 401);
      assert.equal((await refused.json()).error, 'passkey_refused');
      assert.equal(new URL(clone.page.url()).pathname, '/login');
    });
    await clone.context.close();
  });

  test('sign in without a password: the id_token says hwk and mfa; a failed verification is refused cleanly; remove the passkey', { timeout: 60_000 }, async (t) => {
    assert.equal(S.credentials.length, 1, 'the registration test ran first');
    const { context, page, events, authenticator } = await newPage('en-US', S.credentials);
    await withDiagnostics(t, page, events, async () => {
      const req = authorizationRequest(S.server.issuer, { clientId: 'web-app', redirectUri: `${S.appUrl}/callback` });
      // The authenticator cannot verify the user: the autofill request
      // (conditional mediation, which the virtual authenticator answers at
      // once) ends quietly, and the button's is refused with a message.
      await authenticator.userVerified(false);
      await page.goto(req.url);
      await page.waitForSelector('#passkey-sign-in');
      assert.equal(await page.getAttribute('#identifier', 'autocomplete'), 'username webauthn', 'autofill offers passkeys');
      await axeClean(page, 'login with the passkey button');
      await shot(page, 'login-passkey-en.png');
      await page.click('#passkey-sign-in');
      await page.waitForSelector('[data-passkey-error]:not([hidden])', { timeout: STEP });
      assert.match(await page.textContent('[data-passkey-error]'), /The passkey did not work/);
      assert.equal(new URL(page.url()).pathname, '/login', 'still on the login page');

      await authenticator.userVerified(true);
      await Promise.all([
        page.waitForURL((u) => u.origin === S.appUrl, { timeout: STEP }),
        page.click('#passkey-sign-in'),
      ]);
      const back = new URL(page.url()).searchParams;
      assert.equal(back.get('state'), req.state);
      const { claims } = await exchangeCode(S.server.issuer, req, back.get('code'));
      assert.equal(claims.email, EMAIL);
      assert.ok(claims.amr.includes('hwk') && claims.amr.includes('mfa'), `amr ${JSON.stringify(claims.amr)}`);
      assert.ok(!claims.amr.includes('pwd'), 'no password was used');

      // The settings show the use, and this session (it proved the
      // passkey, just now) may remove it.
      await page.goto(`${S.server.uiUrl}/settings`);
      await page.waitForSelector('#passkeys-h');
      assert.doesNotMatch(await page.textContent('.passkey-last-used'), /never/);
      await Promise.all([
        page.waitForURL((u) => u.searchParams.get('saved') === 'passkey_removed', { timeout: STEP }),
        page.click('[data-passkey-remove]'),
      ]);
      assert.match(await page.textContent('.passkeys-none'), /No passkeys yet/);
    });
    await context.close();
  });

  test('a passkey as the second factor after a password', { timeout: 60_000 }, async (t) => {
    // Password only on the login page: no passkey autofill there.
    const login = `${S.server.uiUrl}/login?login_methods=password&return_to=${encodeURIComponent(`${S.server.uiUrl}/settings`)}`;
    const reg = await newPage();
    await withDiagnostics(t, reg.page, reg.events, async () => {
      await reg.page.goto(login);
      await passwordLogin(reg.page, SAM);
      assert.equal(new URL(reg.page.url()).pathname, '/settings', 'no second factor yet');
      await reg.page.fill('#passkey-new-name', 'Phone');
      await Promise.all([
        reg.page.waitForURL((u) => u.searchParams.get('saved') === 'passkey', { timeout: STEP }),
        reg.page.click('form[data-passkey-register] button'),
      ]);
    });
    const credentials = await reg.authenticator.credentials();
    await reg.context.close();

    const { context, page, events } = await newPage('en-US', credentials);
    await withDiagnostics(t, page, events, async () => {
      await page.goto(login);
      await passwordLogin(page, SAM);
      assert.equal(new URL(page.url()).pathname, '/login/second-factor', 'the passkey is asked for');
      await axeClean(page, 'second factor with a passkey');
      await Promise.all([
        page.waitForURL((u) => u.pathname === '/settings', { timeout: STEP }),
        page.click('#passkey-second-factor'),
      ]);
      // The session proved a second factor: it may change passkeys now.
      assert.equal(await page.locator('#passkey-reauth').count(), 0);
      assert.equal(await page.locator('[data-passkey-remove]').count(), 1);
      assert.doesNotMatch(await page.textContent('.passkey-last-used'), /never/);
    });
    await context.close();
  });

  test('the passkey button in Chinese, and login_methods=passkey shows it alone', { timeout: 30_000 }, async (t) => {
    const { context, page, events } = await newPage('zh-CN');
    await withDiagnostics(t, page, events, async () => {
      await page.goto(`${S.server.uiUrl}/login?ui_locales=zh-CN`);
      assert.equal(await page.textContent('#passkey-sign-in'), '使用通行密钥登录');
      await axeClean(page, 'login with the passkey button (zh)');
      await shot(page, 'login-passkey-zh.png');

      await page.goto(`${S.server.uiUrl}/login?login_methods=passkey&default_method=passkey`);
      assert.ok(await page.isVisible('#passkey-sign-in'));
      assert.equal(await page.locator('#identifier').count(), 0, 'no form with fields');
      await page.goto(`${S.server.uiUrl}/login?default_method=passkey`);
      const first = await page.evaluate(
        () =>
          (document.querySelector('#passkey-sign-in').compareDocumentPosition(document.querySelector('#identifier')) &
            Node.DOCUMENT_POSITION_FOLLOWING) !== 0,
      );
      assert.ok(first, 'the passkey comes first');
      await page.goto(`${S.server.uiUrl}/login?login_methods=password`);
      assert.equal(await page.locator('#passkey-sign-in').count(), 0, 'not offered when not asked for');
    });
    await context.close();
  });
});

// Two nodes on one PostgreSQL behind one address (node A's URLs; the test
// routes some API calls to node B as a load balancer would): a ceremony
// started on one node is finished on the other, with a real authenticator.
const PG_URL = process.env.ONEAUTH_TEST_DATABASE_URL;

describe('Passkeys on two nodes sharing PostgreSQL', { skip: PG_URL ? false : 'set ONEAUTH_TEST_DATABASE_URL' }, () => {
  const C = { dataDir: null, a: null, b: null, browser: null, schema: null };
  const psql = (sql) => execFileSync('psql', [PG_URL, '-tAc', sql], { encoding: 'utf8' });

  before(
    async () => {
      assertPrerequisites();
      C.schema = `pk_cluster_${Date.now()}`;
      psql(`CREATE SCHEMA ${C.schema}`);
      const sep = PG_URL.includes('?') ? '&' : '?';
      const env = { ONEAUTH_DATABASE_URL: `${PG_URL}${sep}options[search_path]=${C.schema}` };
      const [aPub, aUi, aAdmin, bPub, bUi, bAdmin] = await freePorts(6);
      C.dataDir = await makeDataDir();
      const config = path.join(C.dataDir, 'oneauth.toml');
      await fs.writeFile(config, ['[login]', 'methods = ["password", "passkey"]', ''].join('\n'));
      await runCli(['--data-dir', C.dataDir, 'identities', 'create', '--email', EMAIL, '--password', PASSWORD], env);
      const common = { dataDir: C.dataDir, globalArgs: ['--config', config], env };
      C.a = await startOneAuth({ ...common, ports: [aPub, aUi, aAdmin], host: 'localhost' });
      C.b = await startOneAuth({ ...common, ports: [bPub, bUi, bAdmin], urls: { issuer: C.a.issuer, uiUrl: C.a.uiUrl } });
      C.bPublic = `http://127.0.0.1:${bPub}`;
      C.browser = await launchChromium();
    },
    { timeout: 40_000 },
  );

  after(
    async () => {
      await C.browser?.close().catch(() => {});
      await C.a?.stop().catch(() => {});
      await C.b?.stop().catch(() => {});
      if (C.schema) psql(`DROP SCHEMA IF EXISTS ${C.schema} CASCADE`);
      await removeDataDir(C.dataDir);
    },
    { timeout: 8_000 },
  );

  /** Sends the API calls ending in `paths` to node B instead of node A. */
  async function toNodeB(page, paths, seen) {
    await page.route(
      (u) => u.origin === C.a.issuer && paths.some((p) => u.pathname.endsWith(p)),
      async (route) => {
        const to = route.request().url().replace(C.a.issuer, C.bPublic);
        seen.push(new URL(to).pathname);
        await route.fulfill({ response: await route.fetch({ url: to }) });
      },
    );
  }

  test('register and sign in, each ceremony started on node A and finished on node B', { timeout: 60_000 }, async (t) => {
    const reg = await newPage('en-US', [], C.browser);
    const seen = [];
    await withDiagnosticsOf(t, reg.page, reg.events, () => `${C.a.out}\n--- node B ---\n${C.b.out}`, async () => {
      await toNodeB(reg.page, ['/passkeys/registration'], seen);
      await reg.page.goto(`${C.a.uiUrl}/settings`);
      await passwordLogin(reg.page);
      await reg.page.fill('#passkey-new-name', 'Clustered');
      await Promise.all([
        reg.page.waitForURL((u) => u.searchParams.get('saved') === 'passkey', { timeout: STEP }),
        reg.page.click('form[data-passkey-register] button'),
      ]);
      assert.deepEqual(seen, ['/api/identity/passkeys/registration'], 'node B finished the registration');
    });
    const credentials = await reg.authenticator.credentials();
    await reg.context.close();

    const login = await newPage('en-US', credentials, C.browser);
    seen.length = 0;
    await withDiagnosticsOf(t, login.page, login.events, () => `${C.a.out}\n--- node B ---\n${C.b.out}`, async () => {
      await toNodeB(login.page, ['/passkeys/login'], seen);
      // Autofill signs in at once (see above); the options come from node A.
      await Promise.all([
        login.page.waitForURL((u) => u.pathname === '/settings', { timeout: STEP }),
        login.page.goto(`${C.a.uiUrl}/login?return_to=${encodeURIComponent(`${C.a.uiUrl}/settings`)}`),
      ]);
      assert.deepEqual(seen, ['/api/identity/passkeys/login'], 'node B finished the sign-in');
      assert.doesNotMatch(await login.page.textContent('.passkey-last-used'), /never/);
    });
    await login.context.close();
  });
});
