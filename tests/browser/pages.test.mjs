// Every page of the login UI in headless Chromium, in English and
// Simplified Chinese: the language follows `ui_locales` (of the page or the
// authorization request) and `Accept-Language`; an accessibility check with
// axe-core (no serious or critical violation); no horizontal scroll on a
// 390-px-wide phone; and a screenshot of each page in each language,
// written to docs/screenshots/ (NAME-en.png, NAME-zh.png, 1280 px wide,
// and a few NAME-LANG-390.png), each beside the page's visible text
// (NAME-LANG.txt). A run compares every page's text with its checked-in
// .txt and fails when they differ: the screenshot no longer shows the page.
// UPDATE_SCREENSHOTS=1 rewrites both (review the PNGs, commit them).
//
// Run:  node --test tests/browser/
// Environment (besides run.mjs's): ONEAUTH_SCREENSHOT_DIR overrides where
// the screenshots go; UPDATE_SCREENSHOTS=1 (re)generates them.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import http from 'node:http';
import path from 'node:path';
import {
  SCREENSHOT_DIR,
  assertPrerequisites,
  authorizationRequest,
  axeClean,
  freePorts,
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
const DESKTOP = { width: 1280, height: 800 };
const PHONE = { width: 390, height: 844 };
/** Pages that also get a screenshot at phone width. */
const PHONE_SHOTS = new Set(['login', 'register', 'settings']);

const LANGS = {
  en: {
    locale: 'en-US',
    htmlLang: 'en',
    headings: {
      login: 'Sign in',
      register: 'Create your account',
      verification: 'Verify your address',
      recovery: 'Reset your password',
      settings: 'Account settings',
      consent: 'Allow access?',
      device: 'Connect a device',
      error: 'Something went wrong',
      logout: 'Sign out?',
      'logged-out': 'Signed out',
    },
  },
  zh: {
    locale: 'zh-CN',
    htmlLang: 'zh-CN',
    headings: {
      login: '登录',
      register: '创建账号',
      verification: '验证您的地址',
      recovery: '重置密码',
      settings: '账号设置',
      consent: '允许访问？',
      device: '连接设备',
      error: '出错了',
      logout: '退出登录？',
      'logged-out': '已退出登录',
    },
  },
};

const S = {
  dataDir: null,
  server: null,
  app: null,
  appUrl: null,
  browser: null,
  cjkFont: false,
};

const withDiagnostics = (t, page, events, fn) => withDiagnosticsOf(t, page, events, () => S.server?.out ?? '', fn);

async function startApp(port) {
  const server = http.createServer((req, res) => {
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    res.end('<!doctype html><html lang="en"><title>App</title><h1>App</h1></html>');
  });
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', resolve);
  });
  return server;
}

/**
 * One browser for every run: the settings page names the browser of each
 * session, and its screenshot text must not change with Chromium's version.
 */
const USER_AGENT = 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36';

async function newPage(lang, options = {}) {
  const context = await S.browser.newContext({ locale: LANGS[lang].locale, viewport: DESKTOP, userAgent: USER_AGENT, ...options });
  const page = await context.newPage();
  return { context, page, events: watchPage(page) };
}

const onUi = (pathname) => (u) => u.origin === S.server.uiUrl && u.pathname === pathname;

async function submit(page, selector) {
  await Promise.all([page.waitForNavigation({ timeout: STEP }), page.click(selector)]);
}

async function passwordLogin(page, email) {
  await page.fill('#identifier', email);
  await page.fill('#password', PASSWORD);
  await submit(page, 'button[name=step][value=login]');
}

/** An authorization request; for Chinese, with ui_locales=zh-CN. */
async function authorize(page, lang, clientId) {
  const extra = lang === 'zh' ? { ui_locales: 'zh-CN' } : {};
  const req = authorizationRequest(S.server.issuer, { clientId, redirectUri: `${S.appUrl}/callback`, extra });
  await page.goto(req.url, { timeout: STEP });
  await page.waitForURL(onUi('/login'), { timeout: STEP });
  return req;
}

/** The third-party client's site, logo and documents. */
const NOTES = 'https://notes.example';
const NOTES_LOGO = '<svg xmlns="http://www.w3.org/2000/svg" width="48" height="48"><rect width="48" height="48" rx="10" fill="#2f6f4f"/><text x="24" y="32" font-size="22" text-anchor="middle" fill="#fff" font-family="sans-serif">N</text></svg>';

/** The guide's logout step 2, exactly as the guide writes it (no id_token_hint). */
const guideLogoutUrl = () => `${S.server.issuer}/api/auth/logout?post_logout_redirect_uri=${encodeURIComponent(S.appUrl)}`;

/** Brings `page` to the named page of the UI, as a person would get there. */
const REACH = {
  async login(page, lang) {
    await authorize(page, lang, 'web-app');
  },
  async register(page, lang) {
    await authorize(page, lang, 'web-app');
    await page.goto(`${page.url()}&require_name=true&confirm_password=true`, { timeout: STEP });
    await submit(page, 'a[href^="/register?"]');
  },
  async verification(page, lang) {
    await REACH.register(page, lang);
    await page.fill('#reg-email', `new.person.${lang}@example.com`);
    await page.fill('#reg-name', lang === 'zh' ? '王小明' : 'New Person');
    await page.fill('#reg-password', 'a perfectly long passphrase');
    await page.fill('#reg-confirm', 'a perfectly long passphrase');
    await submit(page, 'button[type=submit]');
    await page.locator('#email-code').waitFor({ timeout: STEP });
  },
  async recovery(page) {
    await page.goto(`${S.server.uiUrl}/recovery`, { timeout: STEP });
  },
  async settings(page, lang) {
    await page.goto(`${S.server.uiUrl}/settings`, { timeout: STEP });
    await page.waitForURL(onUi('/login'), { timeout: STEP });
    await passwordLogin(page, `settings.${lang}@example.com`);
    await page.waitForURL(onUi('/settings'), { timeout: STEP });
    // Each session says what it is: browser and device, IP, start and last use.
    const session = page.locator('.sessions li').first();
    const device = { en: 'Chrome 131 on Linux', zh: 'Linux 上的 Chrome 131' }[lang];
    if (device) {
      assert.equal(await session.locator('.device').textContent(), device);
      assert.match(await session.locator('.ip').textContent(), /127\.0\.0\.1$/);
      assert.match(await session.locator('time.started').textContent(), /UTC$/);
      assert.match(await session.locator('time.last-used').textContent(), /UTC$/);
    }
  },
  async consent(page, lang) {
    // The client's logo host, answered in the browser (no network here).
    await page.route(`${NOTES}/**`, (route) => route.fulfill({ contentType: 'image/svg+xml', body: NOTES_LOGO }));
    await authorize(page, lang, 'third-party');
    await passwordLogin(page, `consent.${lang}@example.com`);
    await page.waitForURL(onUi('/consent'), { timeout: STEP });
    // More than a name, which a look-alike can copy: the domain answers go
    // to, the logo (loaded: the page's CSP allows its host), and the links.
    assert.equal(await page.textContent('.client-domain strong'), '127.0.0.1');
    assert.ok(await page.locator('img.client-logo').evaluate((img) => img.complete && img.naturalWidth > 0), 'the logo loaded');
    for (const [name, href] of [['website', `${NOTES}/`], ['policy', `${NOTES}/privacy`], ['terms', `${NOTES}/terms`]]) {
      const a = page.locator(`.client-links a[href="${href}"]`);
      assert.equal(await a.count(), 1, name);
      assert.equal(await a.getAttribute('rel'), 'noopener noreferrer', name);
    }
  },
  async device(page) {
    // The code form a TV or CLI sends the user to (the question after it
    // shows a random code, so it is tested in device.test.mjs).
    await page.goto(`${S.server.uiUrl}/device`, { timeout: STEP });
  },
  async error(page) {
    // The authorization endpoint cannot redirect to an unknown client: it shows the error page.
    await page.goto(
      `${S.server.issuer}/oauth2/auth?client_id=no-such-client&response_type=code&scope=openid&state=s&redirect_uri=${encodeURIComponent(`${S.appUrl}/callback`)}`,
      { timeout: STEP },
    );
    await page.waitForURL(onUi('/error'), { timeout: STEP });
    // Not a dead end: the request id for support and a way on (no client to go back to).
    assert.match(await page.textContent('#request-id'), /^[0-9a-f-]{36}$/);
    assert.equal(await page.getAttribute('p.links a', 'href'), '/login');
  },
  async logout(page, lang) {
    // The guide's logout step 2 without an id_token_hint: the UI asks first.
    await REACH.settings(page, `confirm-${lang}`);
    await page.goto(guideLogoutUrl(), { timeout: STEP });
    await page.waitForURL(onUi('/logout'), { timeout: STEP });
  },
  async 'logged-out'(page, lang) {
    // Sign in, then sign out from the settings page (its form needs no confirmation).
    await REACH.settings(page, `out-${lang}`);
    await submit(page, 'form[action="/logout"] button');
    await page.waitForURL(onUi('/logged-out'), { timeout: STEP });
  },
};

async function horizontalOverflow(page) {
  return page.evaluate(() => {
    const vw = document.documentElement.clientWidth;
    const wide = [...document.querySelectorAll('body *')]
      .filter((el) => el.getBoundingClientRect().right > vw + 0.5)
      .slice(0, 5)
      .map((el) => `${el.tagName.toLowerCase()}${el.id ? `#${el.id}` : ''}${el.className ? `.${String(el.className).replace(/\s+/g, '.')}` : ''} right=${Math.round(el.getBoundingClientRect().right)}`);
    return { scrollWidth: document.documentElement.scrollWidth, clientWidth: vw, wide };
  });
}

const screenshot = (t, page, file, textFile) => languageScreenshot(t, page, file, S.cjkFont, textFile);

// ------------------------------------------------------------------ suite

describe('OneAuth UI pages: languages, accessibility, phone layout, screenshots', () => {
  before(
    async () => {
      assertPrerequisites();
      S.cjkFont = await hasCjkFont();
      await fs.mkdir(SCREENSHOT_DIR, { recursive: true });

      const [pub, ui, admin, appPort] = await freePorts(4);
      S.appUrl = `http://127.0.0.1:${appPort}`;
      S.dataDir = await makeDataDir();
      const config = path.join(S.dataDir, 'oneauth.toml');
      // The development courier (messages written to the data directory) is
      // enough here; identity.test.mjs covers SMTP and the webhook.
      await fs.writeFile(config, '[limits]\nlogin_per_ip_per_minute = 1000\n');

      const client = (id, name, extra) =>
        runCli([
          '--data-dir', S.dataDir,
          'clients', 'create',
          '--id', id,
          '--name', name,
          '--grant-type', 'authorization_code,refresh_token',
          '--response-type', 'code',
          '--scope', 'openid,profile,email,offline',
          '--redirect-uri', `${S.appUrl}/callback`,
          '--token-endpoint-auth-method', 'none',
          ...extra,
        ]);
      await client('web-app', 'Web App', ['--skip-consent']);
      await client('third-party', 'Third-Party Notes', [
        '--logo-uri', `${NOTES}/logo.svg`,
        '--policy-uri', `${NOTES}/privacy`,
        '--tos-uri', `${NOTES}/terms`,
        '--client-uri', `${NOTES}/`,
      ]);
      const person = (email, name) =>
        runCli(['--data-dir', S.dataDir, 'identities', 'create', '--email', email, '--password', PASSWORD, '--name', name]);
      await Promise.all([
        person('settings.en@example.com', 'Alice Example'),
        person('settings.zh@example.com', '张三'),
        person('settings.out-en@example.com', 'Out En'),
        person('settings.out-zh@example.com', 'Out Zh'),
        person('settings.confirm-en@example.com', 'Confirm En'),
        person('settings.confirm-zh@example.com', 'Confirm Zh'),
        person('settings.guide-logout@example.com', 'Guide Logout'),
        person('consent.en@example.com', 'Consent En'),
        person('consent.zh@example.com', 'Consent Zh'),
      ]);

      S.app = await startApp(appPort);
      S.server = await startOneAuth({ dataDir: S.dataDir, ports: [pub, ui, admin], globalArgs: ['--config', config] });
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

  test('ui_locales=zh-CN on the authorization request gives Chinese pages in an English browser', { timeout: 20_000 }, async (t) => {
    const { context, page, events } = await newPage('en');
    try {
      await withDiagnostics(t, page, events, async () => {
        await authorize(page, 'zh', 'web-app');
        assert.equal(new URL(page.url()).searchParams.get('ui_locales'), null, 'the language comes from the request, not the URL');
        assert.equal(await page.getAttribute('html', 'lang'), 'zh-CN');
        assert.equal((await page.textContent('h1')).trim(), '登录');
        assert.deepEqual(await page.locator('nav.tabs a').allTextContents(), ['密码', '邮箱验证码', '短信验证码']);
        // The register link carries the challenge, and with it the language.
        await submit(page, 'a[href^="/register?"]');
        assert.equal(await page.getAttribute('html', 'lang'), 'zh-CN');
        assert.equal((await page.textContent('h1')).trim(), '创建账号');
        // The same request without ui_locales: English.
        await authorize(page, 'en', 'web-app');
        assert.equal(await page.getAttribute('html', 'lang'), 'en');
        assert.equal((await page.textContent('h1')).trim(), 'Sign in');
        // ui_locales on the page itself works too.
        await page.goto(`${S.server.uiUrl}/recovery?ui_locales=zh-CN`, { timeout: STEP });
        assert.equal((await page.textContent('h1')).trim(), '重置密码');
      });
    } finally {
      await context.close().catch(() => {});
    }
  });

  test('Accept-Language: zh-CN gives Chinese pages, en-US English ones', { timeout: 20_000 }, async (t) => {
    for (const lang of ['zh', 'en']) {
      const { context, page, events } = await newPage(lang);
      try {
        await withDiagnostics(t, page, events, async () => {
          const sent = page.waitForRequest((r) => r.url().startsWith(S.server.uiUrl), { timeout: STEP });
          for (const [pathname, name] of [
            ['/login', 'login'],
            ['/register', 'register'],
            ['/verification', 'verification'],
            ['/recovery', 'recovery'],
            ['/logged-out', 'logged-out'],
            ['/error?error=invalid_request', 'error'],
          ]) {
            await page.goto(`${S.server.uiUrl}${pathname}`, { timeout: STEP });
            assert.equal(await page.getAttribute('html', 'lang'), LANGS[lang].htmlLang, `${pathname} lang`);
            assert.equal((await page.textContent('h1')).trim(), LANGS[lang].headings[name], `${pathname} heading`);
          }
          const header = (await sent).headers()['accept-language'] ?? '';
          assert.ok(header.startsWith(LANGS[lang].locale), `the browser sent Accept-Language: ${header}`);
        });
      } finally {
        await context.close().catch(() => {});
      }
    }
  });

  test(
    'the error page follows ui_locales of the authorization request that failed',
    { timeout: 10_000 },
    async (t) => {
      const { context, page, events } = await newPage('en');
      try {
        await withDiagnostics(t, page, events, async () => {
          await page.goto(
            `${S.server.issuer}/oauth2/auth?client_id=no-such-client&response_type=code&scope=openid&state=s&ui_locales=zh-CN&redirect_uri=${encodeURIComponent(`${S.appUrl}/callback`)}`,
            { timeout: STEP },
          );
          await page.waitForURL(onUi('/error'), { timeout: STEP });
          assert.equal(await page.getAttribute('html', 'lang'), 'zh-CN');
        });
      } finally {
        await context.close().catch(() => {});
      }
    },
  );

  test('the guide\'s logout asks first, then ends the session and lands on the app, without JavaScript', { timeout: 20_000 }, async (t) => {
    const { context, page, events } = await newPage('en', { javaScriptEnabled: false });
    try {
      await withDiagnostics(t, page, events, async () => {
        await REACH.settings(page, 'guide-logout');
        await page.goto(guideLogoutUrl(), { timeout: STEP });
        await page.waitForURL(onUi('/logout'), { timeout: STEP });
        // Nothing has ended yet: the settings page still opens.
        const settings = await context.newPage();
        await settings.goto(`${S.server.uiUrl}/settings`, { timeout: STEP });
        assert.equal(new URL(settings.url()).pathname, '/settings', 'still signed in before confirming');
        await settings.close();
        await submit(page, 'form[action="/logout"] button[type=submit]');
        await page.waitForURL((u) => u.origin === S.appUrl, { timeout: STEP });
        assert.equal(new URL(page.url()).pathname, '/', 'back on the app\'s origin, as the guide expects');
        await page.goto(`${S.server.uiUrl}/settings`, { timeout: STEP });
        await page.waitForURL(onUi('/login'), { timeout: STEP });
      });
    } finally {
      await context.close().catch(() => {});
    }
  });

  for (const name of Object.keys(REACH)) {
    test(`${name} page: English and Chinese, axe-core, 390 px, screenshots`, { timeout: 30_000 }, async (t) => {
      for (const lang of ['en', 'zh']) {
        const { context, page, events } = await newPage(lang);
        try {
          await withDiagnostics(t, page, events, async () => {
            await REACH[name](page, lang);
            await page.waitForLoadState('load', { timeout: STEP });
            const L = LANGS[lang];
            assert.equal(await page.getAttribute('html', 'lang'), L.htmlLang, `${name}-${lang}: <html lang>`);
            assert.equal((await page.textContent('h1')).trim(), L.headings[name], `${name}-${lang}: heading`);
            if (lang === 'zh') {
              const text = await page.evaluate(() => document.body.innerText);
              assert.ok(/[\u4e00-\u9fff]/.test(text), `${name}-zh: Chinese text`);
            }

            // Desktop screenshot, then axe-core.
            await screenshot(t, page, `${name}-${lang}.png`);
            await axeClean(t, page, `${name}-${lang}`);

            // A phone: no horizontal scroll.
            await page.setViewportSize(PHONE);
            await page.waitForFunction((w) => document.documentElement.clientWidth <= w, PHONE.width, { timeout: STEP });
            const o = await horizontalOverflow(page);
            assert.ok(o.scrollWidth <= PHONE.width, `${name}-${lang} at ${PHONE.width} px scrolls sideways: ${JSON.stringify(o)}`);
            if (PHONE_SHOTS.has(name)) await screenshot(t, page, `${name}-${lang}-390.png`, `${name}-${lang}.txt`);
          });
        } finally {
          await context.close().catch(() => {});
        }
      }
    });
  }
});
