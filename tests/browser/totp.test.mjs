// An authenticator app (TOTP) set up from the settings page in headless
// Chromium, in English and Simplified Chinese, with codes computed here as
// an app would (RFC 6238: HMAC-SHA1, 6 digits, 30 s; away from a step's
// end so the code does not turn while it is typed): the QR code (an
// inline SVG, no script, under the page's CSP) and the key, a wrong code
// refused with the tries left, the confirmation, the recovery codes shown
// once and replaced as a set, and removal refused without a login that
// proved the second factor. Screenshots of each new part of the page in
// both languages (docs/screenshots/settings-totp-*), axe-core clean, no
// sideways scroll on a 390-px phone.
//
// Run:  node --test tests/browser/totp.test.mjs

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import {
  SCREENSHOT_DIR,
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
const STEP = 8_000;
/** The browser of pages.test.mjs: the session list names it. */
const USER_AGENT = 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36';
const LANGS = {
  en: { locale: 'en-US', wrong: /^The code is wrong\. Tries left: 4\.$/, reauth: 'Sign in again', on: 'On: signing in asks', startAgain: /start it again/ },
  zh: { locale: 'zh-CN', wrong: /^验证码错误，还可以再试 4 次。$/, reauth: '重新登录', on: '已开启', startAgain: /请重新开始/ },
};

const S = {};
const withDiagnostics = (t, page, events, fn) => withDiagnosticsOf(t, page, events, () => S.server?.out ?? '', fn);

const screenshot = (t, page, file) => languageScreenshot(t, page, file, S.cjkFont);

/** On a 390-px phone the page does not scroll sideways (the QR code, the key and the codes fit). */
async function fitsAPhone(page, name) {
  await page.setViewportSize({ width: 390, height: 844 });
  const o = await page.evaluate(() => ({ scroll: document.documentElement.scrollWidth, client: document.documentElement.clientWidth }));
  assert.ok(o.scroll <= o.client, `${name}: ${o.scroll} px wide on a ${o.client}-px phone`);
  await page.setViewportSize({ width: 1280, height: 800 });
}

async function submit(page, selector) {
  await Promise.all([page.waitForNavigation({ timeout: STEP }), page.click(selector)]);
}

describe('TOTP and recovery codes on the settings page', () => {
  before(
    async () => {
      assertPrerequisites();
      S.cjkFont = await hasCjkFont();
      await fs.mkdir(SCREENSHOT_DIR, { recursive: true });
      S.dataDir = await makeDataDir();
      const config = path.join(S.dataDir, 'oneauth.toml');
      await fs.writeFile(config, '[limits]\nlogin_per_ip_per_minute = 1000\n');
      for (const lang of Object.keys(LANGS)) {
        await runCli(['--data-dir', S.dataDir, 'identities', 'create', '--email', `totp.${lang}@example.com`, '--password', PASSWORD, '--name', 'Alice']);
      }
      S.server = await startOneAuth({ dataDir: S.dataDir, ports: await freePorts(3), globalArgs: ['--config', config] });
      S.browser = await launchChromium();
    },
    { timeout: 40_000 },
  );

  after(
    async () => {
      await S.browser?.close().catch(() => {});
      await S.server?.stop().catch(() => {});
      await removeDataDir(S.dataDir);
    },
    { timeout: 8_000 },
  );

  for (const [lang, L] of Object.entries(LANGS)) {
    test(`set up an authenticator app, recovery codes once, removal guarded (${lang})`, { timeout: 90_000 }, async (t) => {
      const context = await S.browser.newContext({ locale: L.locale, viewport: { width: 1280, height: 800 }, userAgent: USER_AGENT });
      const page = await context.newPage();
      const events = watchPage(page);
      try {
        await withDiagnostics(t, page, events, async () => {
          await page.goto(`${S.server.uiUrl}/settings`, { timeout: STEP });
          await page.fill('#identifier', `totp.${lang}@example.com`);
          await page.fill('#password', PASSWORD);
          await submit(page, 'button[name=step][value=login]');
          assert.equal(new URL(page.url()).pathname, '/settings');
          assert.equal(await page.locator('#recovery-codes').count(), 0, 'no recovery codes before a factor');

          // Start: the QR code inline (no image request, no script) and the key.
          await submit(page, 'form[action="/settings/totp"] button');
          const qr = page.locator('#totp .qr svg');
          assert.equal(await qr.count(), 1);
          assert.ok((await qr.boundingBox()).width >= 150, 'the QR code is drawn at a scannable size');
          const secret = (await page.textContent('#totp-secret')).replace(/\s+/g, '');
          assert.match(secret, /^[A-Z2-7]{32}$/);
          await screenshot(t, page, `settings-totp-enrol-${lang}.png`);
          await axeClean(t, page, `settings-totp-enrol-${lang}`);
          await fitsAPhone(page, `settings-totp-enrol-${lang}`);

          // A wrong code: refused, with the tries left, the QR code still there.
          const right = await freshCode(secret);
          const wrong = String((Number(right) + 1) % 1_000_000).padStart(6, '0');
          await page.fill('#totp-code', wrong);
          await submit(page, 'form[action="/settings/totp/confirm"] button');
          assert.match(await page.textContent('#code-error'), L.wrong);
          assert.equal(await page.getAttribute('#totp-code', 'aria-invalid'), 'true');
          assert.equal((await page.textContent('#totp-secret')).replace(/\s+/g, ''), secret, 'the same set-up');

          // The right code turns it on and shows ten recovery codes, once.
          const code = await freshCode(secret);
          await page.fill('#totp-code', code);
          await submit(page, 'form[action="/settings/totp/confirm"] button');
          const codes = await page.locator('.recovery-codes code').allTextContents();
          assert.equal(codes.length, 10);
          for (const c of codes) assert.match(c, /^[2-9a-hjkmnp-z]{5}-[2-9a-hjkmnp-z]{5}$/);
          assert.ok((await page.textContent('#totp')).includes(L.on));
          await screenshot(t, page, `settings-totp-codes-${lang}.png`);
          await axeClean(t, page, `settings-totp-codes-${lang}`);
          await fitsAPhone(page, `settings-totp-codes-${lang}`);

          // The same code again (a replayed form) is refused: the set-up is over.
          const replay = await page.request.post(`${S.server.uiUrl}/settings/totp/confirm`, {
            form: { csrf_token: await page.inputValue('form[action="/settings/totp/remove"] input[name=csrf_token]'), code },
            headers: { 'accept-language': L.locale },
          });
          assert.equal(replay.status(), 400);
          assert.match(await replay.text(), L.startAgain);

          // Back on the page: the codes are not shown again, only how many are left.
          await page.goto(`${S.server.uiUrl}/settings`, { timeout: STEP });
          assert.equal(await page.locator('.recovery-codes').count(), 0);
          assert.match(await page.textContent('#recovery-codes'), /10/);
          await screenshot(t, page, `settings-totp-on-${lang}.png`);
          await axeClean(t, page, `settings-totp-on-${lang}`);

          // New codes replace the old set.
          await submit(page, 'form[action="/settings/recovery-codes"] button');
          const fresh = await page.locator('.recovery-codes code').allTextContents();
          assert.equal(fresh.length, 10);
          assert.ok(fresh.every((c) => !codes.includes(c)), 'a new set');

          // Removal needs a login that proved the second factor: a link to sign in again.
          await page.goto(`${S.server.uiUrl}/settings`, { timeout: STEP });
          const [res] = await Promise.all([
            page.waitForNavigation({ timeout: STEP }),
            page.click('form[action="/settings/totp/remove"] button'),
          ]);
          assert.equal(res.status(), 401);
          assert.ok((await page.textContent('#totp-reauth')).includes(L.reauth));
          assert.ok((await page.textContent('#totp')).includes(L.on), 'still on');
        });
      } finally {
        await context.close();
      }
    });
  }
});
