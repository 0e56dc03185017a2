// Cross-origin calls with the user's cookie, in headless Chromium against a
// real OneAuth server: a page served from a registered client's origin (a
// loopback port, so the session cookie is same-site and goes along) can
// neither read `whoami` nor change anything with fetch(credentials:
// 'include'); a configured first-party origin and OneAuth's own origin can.
//
// Run:  node --test tests/browser/cross_origin.test.mjs   (ONEAUTH_BIN, CHROMIUM_PATH as in run.mjs)

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import http from 'node:http';
import path from 'node:path';
import {
  assertPrerequisites,
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
const STEP = 8_000;
const TEST_TIMEOUT = 30_000;

const S = { dataDir: null, server: null, browser: null, sites: [], clientUrl: null, firstPartyUrl: null };

const withDiagnostics = (t, page, events, fn) => withDiagnosticsOf(t, page, events, () => S.server?.out ?? '', fn);

/** A plain page on its own loopback origin: scripts run there by page.evaluate. */
async function startSite(port) {
  const server = http.createServer((req, res) => {
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' });
    res.end('<!doctype html><html lang="en"><title>Site</title><h1>Another site</h1></html>');
  });
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', resolve);
  });
  S.sites.push(server);
  return `http://127.0.0.1:${port}`;
}

/**
 * What a script on the current page gets from OneAuth with the user's
 * cookie: a read of `whoami` and a profile change. `blocked` when the
 * browser refused to let the script see an answer (CORS).
 */
function tryAccount(page, issuer, name) {
  return page.evaluate(
    async ({ issuer, name }) => {
      const attempt = async (url, init) => {
        try {
          const r = await fetch(url, { credentials: 'include', ...init });
          return { status: r.status, body: await r.json().catch(() => null) };
        } catch (e) {
          return { blocked: `${e.name}: ${e.message}` };
        }
      };
      return {
        whoami: await attempt(`${issuer}/api/identity/whoami`),
        profile: await attempt(`${issuer}/api/identity/settings/profile`, {
          method: 'PATCH',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ name }),
        }),
        endSessions: await attempt(`${issuer}/api/identity/sessions`, { method: 'DELETE' }),
      };
    },
    { issuer, name },
  );
}

/** Alice's name and live sessions, as OneAuth's own settings page shows them. */
async function settingsPage(page) {
  await page.goto(`${S.server.uiUrl}/settings`, { timeout: STEP });
  assert.match(new URL(page.url()).pathname, /^\/settings$/, 'signed in: the settings page, not the login');
  return {
    name: await page.inputValue('#name'),
    sessions: await page.locator('ul.sessions li').count(),
  };
}

async function signIn(page) {
  await page.goto(`${S.server.uiUrl}/login`, { timeout: STEP });
  await page.fill('#identifier', EMAIL);
  await page.fill('#password', PASSWORD);
  await Promise.all([page.waitForNavigation({ timeout: STEP }), page.click('button[name=step][value=login]')]);
}

describe('Cross-origin calls with the session cookie in Chromium', () => {
  before(
    async () => {
      assertPrerequisites();
      const [pub, ui, admin, clientPort, firstPartyPort] = await freePorts(5);
      S.dataDir = await makeDataDir();
      S.clientUrl = `http://127.0.0.1:${clientPort}`;
      S.firstPartyUrl = `http://127.0.0.1:${firstPartyPort}`;
      const config = path.join(S.dataDir, 'oneauth.toml');
      await fs.writeFile(config, `[cors]\nfirst_party_origins = [${JSON.stringify(S.firstPartyUrl)}]\n`);
      await runCli([
        '--data-dir', S.dataDir,
        'clients', 'create',
        '--id', 'web-app',
        '--name', 'Web App',
        '--grant-type', 'authorization_code,refresh_token',
        '--response-type', 'code',
        '--scope', 'openid,profile,email,offline',
        '--redirect-uri', `${S.clientUrl}/callback`,
        '--token-endpoint-auth-method', 'none',
        '--skip-consent',
      ]);
      await runCli(['--data-dir', S.dataDir, 'identities', 'create', '--email', EMAIL, '--password', PASSWORD, '--name', 'Alice Example']);
      await startSite(clientPort);
      await startSite(firstPartyPort);
      S.server = await startOneAuth({ dataDir: S.dataDir, ports: [pub, ui, admin], globalArgs: ['--config', config] });
      S.browser = await launchChromium();
    },
    { timeout: 40_000 },
  );

  after(
    async () => {
      await S.browser?.close().catch(() => {});
      await S.server?.stop().catch(() => {});
      for (const s of S.sites) {
        s.closeAllConnections?.();
        await new Promise((r) => s.close(r));
      }
      await removeDataDir(S.dataDir);
    },
    { timeout: 8_000 },
  );

  test("a registered client's page can neither read whoami nor change anything", { timeout: TEST_TIMEOUT }, async (t) => {
    const context = await S.browser.newContext({ locale: 'en-US' });
    const page = await context.newPage();
    const events = watchPage(page);
    await withDiagnostics(t, page, events, async () => {
      await signIn(page);
      const before = await settingsPage(page);
      assert.equal(before.name, 'Alice Example');

      await page.goto(`${S.clientUrl}/`, { timeout: STEP });
      const got = await tryAccount(page, S.server.issuer, 'Mallory');
      for (const [call, answer] of Object.entries(got)) {
        assert.ok(answer.blocked, `${call} from the client's origin must be blocked: ${JSON.stringify(answer)}`);
      }
      // Nothing changed on the server either (the GET reached it and was
      // refused; the others never passed their preflight).
      assert.deepEqual(await settingsPage(page), before);
    });
    await context.close();
  });

  test('a first-party origin and OneAuth\'s own origin can', { timeout: TEST_TIMEOUT }, async (t) => {
    const context = await S.browser.newContext({ locale: 'en-US' });
    const page = await context.newPage();
    const events = watchPage(page);
    await withDiagnostics(t, page, events, async () => {
      await signIn(page);
      for (const [origin, name] of [
        [S.firstPartyUrl, 'Alice First-Party'],
        [S.server.issuer, 'Alice Own Origin'],
      ]) {
        // The issuer's origin: a page of OneAuth's own (its health check).
        await page.goto(origin === S.server.issuer ? `${origin}/health/alive` : `${origin}/`, { timeout: STEP });
        const got = await tryAccount(page, S.server.issuer, name);
        assert.equal(got.whoami.status, 200, `${origin}: ${JSON.stringify(got.whoami)}`);
        assert.equal(got.whoami.body.identity.email, EMAIL);
        assert.equal(got.profile.status, 200, `${origin}: ${JSON.stringify(got.profile)}`);
        assert.equal(got.profile.body.identity.name, name);
        assert.equal(got.endSessions.status, 200, `${origin}: ${JSON.stringify(got.endSessions)}`);
        const now = await settingsPage(page);
        assert.equal(now.name, name);
      }
    });
    await context.close();
  });
});
