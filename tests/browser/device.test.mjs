// The device authorization grant (RFC 8628) with a real client library: a
// "device" started by openid-client (its deviceAuthorization helpers, as a
// CLI would use them) polls while the user approves on the UI's /device
// page in headless Chromium; and the page in both languages under axe-core.
//
// Run:  ONEAUTH_BIN=target/debug/oneauth node --test tests/browser/device.test.mjs

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as oidc from 'openid-client';
import {
  assertPrerequisites,
  axeViolations,
  freePorts,
  launchChromium,
  makeDataDir,
  removeDataDir,
  runCli,
  startOneAuth,
  watchPage,
  withDiagnostics as withDiagnosticsOf,
} from './helpers.mjs';

const EMAIL = 'alice@example.com';
const PASSWORD = 'correct horse battery staple';
const CLIENT_ID = 'living-room-tv';
const GRANT = 'urn:ietf:params:oauth:grant-type:device_code';
const STEP = 8_000;

const S = { dataDir: null, server: null, browser: null };
const withDiagnostics = (t, page, events, fn) => withDiagnosticsOf(t, page, events, () => S.server?.out ?? '', fn);

/** openid-client's configuration of the device: discovery, a public client, http on loopback. */
function deviceConfig() {
  return oidc.discovery(new URL(S.server.issuer), CLIENT_ID, undefined, oidc.None(), {
    execute: [oidc.allowInsecureRequests],
  });
}

async function newPage(locale) {
  const context = await S.browser.newContext({ locale });
  const page = await context.newPage();
  return { context, page, events: watchPage(page) };
}

async function noSeriousViolations(t, page, what) {
  const violations = await axeViolations(page);
  for (const v of violations) t.diagnostic(`${what} axe ${v.impact}: ${v.id} (${v.help})`);
  const bad = violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  assert.deepEqual(bad, [], `${what}: serious or critical accessibility violations`);
}

/** Types the code on /device, signs in on the login page it leads to, and lands on the question. */
async function enterCodeAndSignIn(page, verificationUri, userCode) {
  await page.goto(verificationUri, { timeout: STEP });
  await page.fill('#user-code', userCode);
  await Promise.all([page.waitForURL((u) => u.pathname === '/login', { timeout: STEP }), page.click('button[type=submit]')]);
  await page.fill('#identifier', EMAIL);
  await page.fill('#password', PASSWORD);
  await Promise.all([page.waitForURL((u) => u.pathname === '/device', { timeout: STEP }), page.click('button[type=submit]')]);
}

describe('device authorization (RFC 8628) with openid-client and Chromium', () => {
  before(
    async () => {
      assertPrerequisites();
      S.dataDir = await makeDataDir();
      await runCli([
        '--data-dir', S.dataDir,
        'clients', 'create',
        '--id', CLIENT_ID,
        '--name', 'Living Room TV',
        '--grant-type', `${GRANT},refresh_token`,
        '--scope', 'openid,profile,offline',
        '--token-endpoint-auth-method', 'none',
      ]);
      await runCli(['--data-dir', S.dataDir, 'identities', 'create', '--email', EMAIL, '--password', PASSWORD, '--name', 'Alice Example']);
      S.server = await startOneAuth({ dataDir: S.dataDir, ports: await freePorts(3) });
      S.browser = await launchChromium();
    },
    { timeout: 30_000 },
  );

  after(
    async () => {
      await S.browser?.close().catch(() => {});
      await S.server?.stop().catch(() => {});
      await removeDataDir(S.dataDir);
    },
    { timeout: 5_000 },
  );

  test('a device started by openid-client gets tokens once the user approves in the browser', { timeout: 45_000 }, async (t) => {
    const config = await deviceConfig();
    assert.equal(config.serverMetadata().device_authorization_endpoint, `${S.server.issuer}/oauth2/device/auth`);
    const started = await oidc.initiateDeviceAuthorization(config, { scope: 'openid profile offline' });
    assert.match(started.user_code, /^[BCDFGHJKLMNPQRSTVWXZ]{4}-[BCDFGHJKLMNPQRSTVWXZ]{4}$/);
    assert.equal(started.verification_uri, `${S.server.uiUrl}/device`);
    // The device polls (every `interval` seconds, as the library does) while the user answers.
    const polling = oidc.pollDeviceAuthorizationGrant(config, started);
    polling.catch(() => {});

    const { context, page, events } = await newPage('en-US');
    try {
      await withDiagnostics(t, page, events, async () => {
        // Typed as people type: lower case, no dash.
        await enterCodeAndSignIn(page, started.verification_uri, started.user_code.replace('-', '').toLowerCase());
        assert.equal((await page.textContent('h1')).trim(), 'Connect a device');
        const text = await page.evaluate(() => document.body.innerText);
        assert.ok(text.includes('Living Room TV'), text);
        assert.ok(text.includes(started.user_code), `the code to compare: ${text}`);
        await noSeriousViolations(t, page, 'device question');
        await Promise.all([page.waitForNavigation({ timeout: STEP }), page.click('button[value=allow]')]);
        assert.equal((await page.textContent('h1')).trim(), 'Device connected');
      });
    } finally {
      await context.close().catch(() => {});
    }

    const tokens = await polling;
    assert.ok(tokens.access_token.startsWith('ory_at_'), JSON.stringify(tokens));
    assert.ok(tokens.refresh_token, 'offline: a refresh token');
    const claims = tokens.claims();
    assert.equal(claims.iss, S.server.issuer);
    assert.deepEqual([claims.aud].flat(), [CLIENT_ID]);
    const refreshed = await oidc.refreshTokenGrant(config, tokens.refresh_token);
    assert.ok(refreshed.access_token, 'the device refreshes as any client');

    // A device code yields tokens once.
    await assert.rejects(oidc.pollDeviceAuthorizationGrant(config, { ...started, interval: 1 }), (e) => {
      assert.equal(e.error, 'invalid_grant');
      return true;
    });
  });

  test('a denied device hears access_denied', { timeout: 45_000 }, async (t) => {
    const config = await deviceConfig();
    const started = await oidc.initiateDeviceAuthorization(config, { scope: 'openid' });
    const polling = oidc.pollDeviceAuthorizationGrant(config, started);
    polling.catch(() => {});
    const { context, page, events } = await newPage('en-US');
    try {
      await withDiagnostics(t, page, events, async () => {
        await enterCodeAndSignIn(page, started.verification_uri, started.user_code);
        await Promise.all([page.waitForNavigation({ timeout: STEP }), page.click('button[value=deny]')]);
        assert.equal((await page.textContent('h1')).trim(), 'Device not connected');
      });
    } finally {
      await context.close().catch(() => {});
    }
    await assert.rejects(polling, (e) => {
      assert.equal(e.error, 'access_denied');
      return true;
    });
  });

  test('the device page in English and Chinese: labels, headings, a wrong code said, axe-core', { timeout: 30_000 }, async (t) => {
    for (const [locale, heading, wrong] of [
      ['en-US', 'Connect a device', 'That code is wrong or has expired'],
      ['zh-CN', '连接设备', '代码错误或已过期'],
    ]) {
      const { context, page, events } = await newPage(locale);
      try {
        await withDiagnostics(t, page, events, async () => {
          await page.goto(`${S.server.uiUrl}/device`, { timeout: STEP });
          assert.equal((await page.textContent('h1')).trim(), heading);
          assert.equal(await page.getAttribute('#user-code', 'id'), 'user-code');
          assert.ok(await page.locator('label[for=user-code]').isVisible(), 'the code field has a label');
          await noSeriousViolations(t, page, `device ${locale}`);
          await page.fill('#user-code', 'BBBB-BBBB');
          await Promise.all([page.waitForNavigation({ timeout: STEP }), page.click('button[type=submit]')]);
          assert.ok((await page.textContent('[role=alert]')).includes(wrong));
          assert.equal(await page.getAttribute('#user-code', 'aria-invalid'), 'true');
          await noSeriousViolations(t, page, `device ${locale} with an error`);
        });
      } finally {
        await context.close().catch(() => {});
      }
    }
  });
});
