// The second-factor step with a real relying party: openid-client signs in
// to a client registered with `--require-mfa`. In headless Chromium, in
// English and Simplified Chinese: the password leads to /login/second-factor,
// where a person without a second factor enrols an authenticator app (codes
// computed here as an app would), sees the recovery codes once and goes on
// to the client, whose id_token says `amr` pwd+otp+mfa and the multi-factor
// `acr`. The next login asks for the app's code: the code already used is
// refused, a recovery code gets through. Screenshots of each state in both
// languages (docs/screenshots/second-factor-*), axe-core clean.
//
// Run:  ONEAUTH_BIN=target/debug/oneauth node --test tests/browser/mfa.test.mjs

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import * as oidc from 'openid-client';
import {
  assertPrerequisites,
  axeClean,
  freePorts,
  freshCode,
  hasCjkFont,
  languageScreenshot,
  launchChromium,
  makeDataDir,
  removeDataDir,
  runCli,
  startOneAuth,
  watchPage,
  withDiagnostics as withDiagnosticsOf,
} from './helpers.mjs';

const PASSWORD = 'correct horse battery staple';
const CLIENT_ID = 'payroll';
const ACR_MFA = 'urn:oneauth:acr:mfa';
const STEP = 8_000;
const LANGS = {
  en: { locale: 'en-US', email: 'ada@example.com', wrong: /wrong/ },
  zh: { locale: 'zh-CN', email: 'lin@example.com', wrong: /错误/ },
};

const S = {};
const withDiagnostics = (t, page, events, fn) => withDiagnosticsOf(t, page, events, () => S.server?.out ?? '', fn);

const screenshot = (t, page, file) => languageScreenshot(t, page, file, S.cjkFont);

async function submit(page, selector) {
  await Promise.all([page.waitForNavigation({ timeout: STEP }), page.click(selector)]);
}

/**
 * An authorization request by openid-client, opened in a new page; resolves
 * once the page sits on the login page. `finished` resolves with the
 * callback URL the browser was sent to.
 */
async function signIn(lang) {
  const pkceCodeVerifier = oidc.randomPKCECodeVerifier();
  const expected = { pkceCodeVerifier, expectedState: oidc.randomState(), expectedNonce: oidc.randomNonce() };
  const url = oidc.buildAuthorizationUrl(S.config, {
    redirect_uri: S.redirectUri,
    scope: 'openid profile',
    code_challenge: await oidc.calculatePKCECodeChallenge(pkceCodeVerifier),
    code_challenge_method: 'S256',
    state: expected.expectedState,
    nonce: expected.expectedNonce,
  });
  const context = await S.browser.newContext({ locale: LANGS[lang].locale });
  const finished = new Promise((r) => (S.onCallback = r));
  const page = await context.newPage();
  const events = watchPage(page);
  await page.goto(url.href, { timeout: STEP });
  await page.waitForURL((u) => u.pathname === '/login', { timeout: STEP });
  return { context, page, events, finished, expected };
}

async function password(page, email) {
  await page.fill('#identifier', email);
  await page.fill('#password', PASSWORD);
  await submit(page, 'button[type=submit]');
  assert.equal(new URL(page.url()).pathname, '/login/second-factor', 'the password leads to the second-factor step');
}

/** The code at the client, redeemed by openid-client: the id_token's claims. */
async function claimsAt(callbackUrl, expected) {
  const tokens = await oidc.authorizationCodeGrant(S.config, new URL(callbackUrl), expected);
  return tokens.claims();
}

describe('the second-factor step for a client with --require-mfa (openid-client, Chromium)', () => {
  before(
    async () => {
      assertPrerequisites();
      S.cjkFont = await hasCjkFont();
      S.dataDir = await makeDataDir();
      const [pub, ui, admin, app] = await freePorts(4);
      // The client's callback: answers, and hands the URL (the code) to the test.
      S.redirectUri = `http://127.0.0.1:${app}/callback`;
      S.app = http.createServer((req, res) => {
        S.onCallback?.(new URL(req.url, S.redirectUri).href);
        res.end('back at the client');
      });
      await new Promise((r) => S.app.listen(app, '127.0.0.1', r));
      await runCli([
        '--data-dir', S.dataDir,
        'clients', 'create',
        '--id', CLIENT_ID,
        '--name', 'Payroll',
        '--grant-type', 'authorization_code',
        '--response-type', 'code',
        '--scope', 'openid,profile',
        '--redirect-uri', S.redirectUri,
        '--token-endpoint-auth-method', 'none',
        '--skip-consent',
        '--require-mfa',
      ]);
      for (const { email } of Object.values(LANGS)) {
        await runCli(['--data-dir', S.dataDir, 'identities', 'create', '--email', email, '--password', PASSWORD]);
      }
      S.server = await startOneAuth({ dataDir: S.dataDir, ports: [pub, ui, admin] });
      S.config = await oidc.discovery(new URL(S.server.issuer), CLIENT_ID, undefined, oidc.None(), {
        execute: [oidc.allowInsecureRequests],
      });
      S.browser = await launchChromium();
    },
    { timeout: 60_000 },
  );

  after(async () => {
    await S.browser?.close();
    await S.server?.stop();
    S.app?.close();
    if (S.dataDir) await removeDataDir(S.dataDir);
  });

  for (const lang of Object.keys(LANGS)) {
    const { email, wrong } = LANGS[lang];

    test(`${lang}: enrol an authenticator at login, then prove it; a used code is refused, a recovery code works`, { timeout: 90_000 }, async (t) => {
      // First login: no second factor yet, the client demands one.
      const first = await signIn(lang);
      let secret;
      let recoveryCodes;
      let usedCode;
      await withDiagnostics(t, first.page, first.events, async () => {
        const { page } = first;
        await password(page, email);
        assert.ok(await page.locator('.qr svg').isVisible(), 'the QR code is shown');
        await screenshot(t, page, `second-factor-enrol-${lang}.png`);
        await axeClean(t, page, `enrol (${lang})`);
        secret = (await page.textContent('#totp-secret')).replace(/\s+/g, '');
        usedCode = await freshCode(secret);
        await page.fill('#code', usedCode);
        await submit(page, 'button[type=submit]');
        recoveryCodes = await page.locator('.recovery-codes code').allTextContents();
        assert.equal(recoveryCodes.length, 10, 'ten recovery codes, shown once');
        await screenshot(t, page, `second-factor-codes-${lang}.png`);
        await axeClean(t, page, `recovery codes (${lang})`);
        await page.click('a.button');
        const claims = await claimsAt(await first.finished, first.expected);
        assert.deepEqual(claims.amr, ['pwd', 'otp', 'mfa']);
        assert.equal(claims.acr, ACR_MFA);
      });
      await first.context.close();

      // Next login: the app's code is asked for.
      const next = await signIn(lang);
      await withDiagnostics(t, next.page, next.events, async () => {
        const { page } = next;
        await password(page, email);
        assert.equal(await page.locator('.qr').count(), 0, 'nothing to enrol now');
        await screenshot(t, page, `second-factor-${lang}.png`);
        await axeClean(t, page, `second factor (${lang})`);
        // The code that confirmed the enrolment was accepted once.
        await page.fill('#code', usedCode);
        await submit(page, 'form:has(input[value=totp]) button[type=submit]');
        assert.match(await page.textContent('#code-error'), wrong);
        await page.click('summary');
        await page.fill('#recovery-code', recoveryCodes[0]);
        await submit(page, 'form:has(input[value=recovery_code]) button[type=submit]');
        const claims = await claimsAt(await next.finished, next.expected);
        assert.ok(claims.amr.includes('mfa'), JSON.stringify(claims.amr));
        assert.equal(claims.acr, ACR_MFA);
      });
      await next.context.close();
    });
  }
});
