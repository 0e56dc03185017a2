// The identity pages in headless Chromium against a real OneAuth server
// whose courier delivers email over SMTP to a real SMTP server process on
// loopback (smtp-sink.mjs) and SMS to a webhook receiver this test runs:
// sign-up with email verification, SMS-code login, verification and
// recovery, settings, consent allow and deny, popup mode.
//
// Run:  node --test tests/browser/           (ONEAUTH_BIN, CHROMIUM_PATH as in run.mjs)

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import http from 'node:http';
import path from 'node:path';
import {
  assertPrerequisites,
  authorizationRequest,
  codeIn,
  exchangeCode,
  freePorts,
  launchChromium,
  makeDataDir,
  removeDataDir,
  runCli,
  startOneAuth,
  startSmtpSink,
  startWebhookReceiver,
  watchPage,
  withDiagnostics as withDiagnosticsOf,
} from './helpers.mjs';

const PASSWORD = 'correct horse battery staple';
const WEBHOOK_SECRET = 'browser-test-webhook-secret-0123';
const FROM = 'OneAuth Test <no-reply@oneauth.test>';
const STEP = 8_000;
const TEST_TIMEOUT = 30_000;

const S = {
  dataDir: null,
  server: null,
  smtp: null,
  hook: null,
  app: null,
  appUrl: null,
  appRequests: [],
  browser: null,
};

const withDiagnostics = (t, page, events, fn) =>
  withDiagnosticsOf(t, page, events, () => `${S.server?.out ?? ''}\n--- smtp-sink ---\n${S.smtp?.out ?? ''}`, fn);

// ------------------------------------------------------------ the client app

const OPENER_HTML = (ui, app) => `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Popup opener</title></head>
<body><h1>App</h1><button id="open" type="button">Sign in (popup)</button><pre id="result"></pre>
<script>
  window.addEventListener('message', (e) => {
    document.getElementById('result').textContent = JSON.stringify({ origin: e.origin, data: e.data });
  });
  document.getElementById('open').addEventListener('click', () => {
    const u = ${JSON.stringify(ui)} + '/login?mode=popup&return_to=' + encodeURIComponent(${JSON.stringify(app)} + '/');
    window.open(u, 'oneauth-login', 'popup,width=420,height=640');
  });
</script></body></html>`;

async function startApp(port) {
  const server = http.createServer((req, res) => {
    const url = new URL(req.url, `http://127.0.0.1:${port}`);
    S.appRequests.push({ at: Date.now(), url: url.href });
    const html = (body) => {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' });
      res.end(body);
    };
    if (url.pathname === '/callback') html('<!doctype html><html lang="en"><title>Callback</title><h1>Callback</h1></html>');
    else if (url.pathname === '/opener') html(OPENER_HTML(S.server.uiUrl, S.appUrl));
    else if (url.pathname === '/') html('<!doctype html><html lang="en"><title>App</title><h1>App home</h1></html>');
    else {
      res.writeHead(404);
      res.end();
    }
  });
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', resolve);
  });
  return server;
}

const atCallback = (u) => u.origin === S.appUrl && u.pathname === '/callback';

/** The callback's query after the browser came back to the app. */
async function callbackParams(page) {
  await page.waitForURL(atCallback, { timeout: STEP });
  return new URL(page.url()).searchParams;
}

async function newPage(options = {}) {
  const context = await S.browser.newContext({ locale: 'en-US', ...options });
  const page = await context.newPage();
  return { context, page, events: watchPage(page) };
}

/** Signs in with email + password on the login page the browser is on. */
async function passwordLogin(page, email, password = PASSWORD) {
  await page.fill('#identifier', email);
  await page.fill('#password', password);
  await Promise.all([page.waitForNavigation({ timeout: STEP }), page.click('button[name=step][value=login]')]);
}

async function cliIdentity(email, name) {
  await runCli(['--data-dir', S.dataDir, 'identities', 'create', '--email', email, '--password', PASSWORD, '--name', name]);
}

// ------------------------------------------------------------------ suite

describe('OneAuth identity pages in Chromium (SMTP and webhook courier)', () => {
  before(
    async () => {
      assertPrerequisites();
      const [pub, ui, admin, appPort] = await freePorts(4);
      S.appUrl = `http://127.0.0.1:${appPort}`;
      S.dataDir = await makeDataDir();
      S.smtp = await startSmtpSink();
      S.hook = await startWebhookReceiver(WEBHOOK_SECRET);

      // Email over plain SMTP to the sink on loopback (tls = "none" is for
      // a relay on loopback), SMS to the webhook receiver.
      const config = path.join(S.dataDir, 'oneauth.toml');
      await fs.writeFile(
        config,
        [
          '[courier]',
          'email_provider = "smtp"',
          'sms_provider = "webhook"',
          `from = ${JSON.stringify(FROM)}`,
          'poll_interval_ms = 100',
          'backoff_base_secs = 1',
          '[courier.smtp]',
          'host = "127.0.0.1"',
          `port = ${S.smtp.port}`,
          'tls = "none"',
          'timeout_secs = 5',
          '[courier.webhook]',
          `url = ${JSON.stringify(S.hook.url)}`,
          `secret = ${JSON.stringify(WEBHOOK_SECRET)}`,
          'timeout_secs = 5',
          '[limits]',
          // Every test signs in from 127.0.0.1.
          'login_per_ip_per_minute = 1000',
          '',
        ].join('\n'),
      );

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
      await client('third-party', 'Third-Party Notes', []);
      await Promise.all([
        cliIdentity('carol@example.com', 'Carol Recovery'),
        cliIdentity('dave@example.com', 'Dave Settings'),
        cliIdentity('erin@example.com', 'Erin Consent'),
        cliIdentity('gina@example.com', 'Gina Deny'),
        cliIdentity('frank@example.com', 'Frank Popup'),
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
      await S.smtp?.stop().catch(() => {});
      await S.hook?.stop().catch(() => {});
      if (S.app) {
        S.app.closeAllConnections?.();
        await new Promise((r) => S.app.close(r));
      }
      await removeDataDir(S.dataDir);
    },
    { timeout: 8_000 },
  );

  test('sign-up with verify_method=email: the code travels over SMTP, then the OAuth2 flow goes on', { timeout: TEST_TIMEOUT }, async (t) => {
    const { context, page, events } = await newPage();
    try {
      await withDiagnostics(t, page, events, async () => {
        const req = authorizationRequest(S.server.issuer, { clientId: 'web-app', redirectUri: `${S.appUrl}/callback` });
        await page.goto(req.url, { timeout: STEP });
        await page.waitForURL((u) => u.origin === S.server.uiUrl && u.pathname === '/login', { timeout: STEP });
        const challenge = new URL(page.url()).searchParams.get('login_challenge');
        assert.ok(challenge, 'login_challenge');

        // The client's page parameters on the login page carry over to the register link.
        await page.goto(`${page.url()}&verify_method=email&require_name=true&confirm_password=true`, { timeout: STEP });
        await Promise.all([page.waitForURL((u) => u.pathname === '/register', { timeout: STEP }), page.click('a[href^="/register?"]')]);
        const reg = new URL(page.url()).searchParams;
        assert.equal(reg.get('login_challenge'), challenge, 'the challenge carries over to /register');
        assert.equal(reg.get('verify_method'), 'email');
        await page.locator('#reg-name').waitFor({ timeout: STEP });
        assert.equal(await page.locator('#reg-confirm').count(), 1, 'confirm_password asks for the password twice');
        assert.equal(await page.locator('#reg-phone').count(), 0, 'verify_method=email asks no phone');

        // A typo in the confirmation: the error stands beside the field.
        await page.fill('#reg-email', 'Bob.Smith@Example.com');
        await page.fill('#reg-name', 'Bob Smith');
        await page.fill('#reg-password', 'a perfectly long passphrase');
        await page.fill('#reg-confirm', 'a perfectly long passfrase');
        await Promise.all([page.waitForNavigation({ timeout: STEP }), page.click('button[type=submit]')]);
        await page.locator('#reg_confirm-error').waitFor({ timeout: STEP });
        assert.equal(await page.inputValue('#reg-email'), 'Bob.Smith@Example.com', 'the form keeps what was typed');

        const sentAfter = Date.now();
        await page.fill('#reg-password', 'a perfectly long passphrase');
        await page.fill('#reg-confirm', 'a perfectly long passphrase');
        await Promise.all([page.waitForNavigation({ timeout: STEP }), page.click('button[type=submit]')]);

        // The verification page asks for the code sent to the normalised address.
        await page.locator('#email-code').waitFor({ timeout: STEP });
        assert.match(await page.textContent('label[for=email-code]'), /bob\.smith@example\.com/);

        const mail = await S.smtp.mailTo('bob.smith@example.com', sentAfter);
        assert.equal(mail.from, 'no-reply@oneauth.test', 'envelope sender is courier.from');
        assert.deepEqual(mail.headerFrom, { address: 'no-reply@oneauth.test', name: 'OneAuth Test' }, 'From header is courier.from');
        assert.deepEqual(mail.headerTo, ['bob.smith@example.com'], 'To header');
        assert.match(mail.subject, /Confirm your address/);
        assert.match(mail.contentType ?? '', /text\/plain/);
        const code = codeIn(mail.text);

        await page.fill('#email-code', code);
        await page.click('button[name=step][value=verify]');
        const q = await callbackParams(page);
        assert.equal(q.get('state'), req.state, 'state comes back');
        assert.ok(q.get('code'), 'an authorization code');
        assert.equal(q.get('error'), null);
        const { tokens, claims } = await exchangeCode(S.server.issuer, req, q.get('code'));
        assert.ok(tokens.access_token && tokens.refresh_token, 'tokens');
        assert.equal(claims.email, 'bob.smith@example.com', 'id_token email');
        assert.equal(claims.email_verified, true, 'the address is verified');

        // Logged in: the settings page shows the verified address and name.
        await page.goto(`${S.server.uiUrl}/settings`, { timeout: STEP });
        assert.equal(new URL(page.url()).pathname, '/settings', 'signed in after sign-up');
        assert.match(await page.textContent('.ids'), /bob\.smith@example\.com\s*verified/i);
        assert.equal(await page.inputValue('#name'), 'Bob Smith');
      });
    } finally {
      await context.close().catch(() => {});
    }
  });

  test('SMS-code login: register a phone, then the code arrives at the signed webhook and finishes an OAuth2 flow', { timeout: TEST_TIMEOUT }, async (t) => {
    const phone = '+8613800138000';
    // 1. Sign up with a phone number (verify_method=phone): the verification code goes by SMS too.
    {
      const { context, page, events } = await newPage();
      try {
        await withDiagnostics(t, page, events, async () => {
          await page.goto(`${S.server.uiUrl}/register?verify_method=phone`, { timeout: STEP });
          assert.equal(await page.locator('#reg-email').count(), 0, 'verify_method=phone asks no email');
          await page.fill('#reg-phone', '+86 138 0013 8000');
          await page.fill('#reg-password', 'my phone passphrase is long');
          const sentAfter = Date.now();
          await Promise.all([page.waitForNavigation({ timeout: STEP }), page.click('button[type=submit]')]);
          await page.locator('#phone-code').waitFor({ timeout: STEP });
          const hook = await S.hook.messageTo(phone, sentAfter);
          assert.equal(hook.json.template, 'verification_code');
          await page.fill('#phone-code', codeIn(hook.json.body));
          await Promise.all([page.waitForNavigation({ timeout: STEP }), page.click('button[name=step][value=verify]')]);
          assert.equal(new URL(page.url()).pathname, '/settings', 'signed in after verifying the phone');
          assert.match(await page.textContent('.ids'), /\+8613800138000\s*verified/i);
        });
      } finally {
        await context.close().catch(() => {});
      }
    }

    // 2. A new browser signs in with an SMS code through an OAuth2 flow.
    const { context, page, events } = await newPage();
    try {
      await withDiagnostics(t, page, events, async () => {
        const req = authorizationRequest(S.server.issuer, { clientId: 'web-app', redirectUri: `${S.appUrl}/callback` });
        await page.goto(req.url, { timeout: STEP });
        await page.waitForURL((u) => u.origin === S.server.uiUrl && u.pathname === '/login', { timeout: STEP });
        // All three methods are offered as tabs; the SMS tab opens the phone form.
        const tabs = await page.locator('nav.tabs a').allTextContents();
        assert.deepEqual(tabs, ['Password', 'Email code', 'SMS code']);
        await Promise.all([page.waitForNavigation({ timeout: STEP }), page.click('nav.tabs a:has-text("SMS code")')]);
        assert.equal(await page.getAttribute('#identifier', 'type'), 'tel');
        // login_methods=phone: only the phone form, no tabs.
        await page.goto(`${page.url()}&login_methods=phone`, { timeout: STEP });
        assert.equal(await page.locator('nav.tabs').count(), 0, 'one method, no tabs');
        assert.equal(await page.getAttribute('#identifier', 'autocomplete'), 'tel');

        await page.fill('#identifier', '0086 138-0013-8000');
        const sentAfter = Date.now();
        await Promise.all([page.waitForNavigation({ timeout: STEP }), page.click('button[name=step][value=send]')]);
        await page.locator('#code').waitFor({ timeout: STEP });
        assert.equal(await page.getAttribute('#code', 'autocomplete'), 'one-time-code');

        const hook = await S.hook.messageTo(phone, sentAfter);
        assert.equal(hook.method, 'POST');
        assert.match(hook.contentType, /application\/json/);
        assert.match(hook.signature, /^sha256=[0-9a-f]{64}$/);
        assert.ok(hook.signatureValid, `X-OneAuth-Signature does not match the HMAC of the body under the secret: ${hook.signature}`);
        assert.equal(hook.json.channel, 'sms');
        assert.equal(hook.json.template, 'login_code');
        assert.ok(hook.json.message_id, 'message_id');
        const code = codeIn(hook.json.body);

        await page.fill('#code', code);
        await page.click('button[name=step][value=login]');
        const q = await callbackParams(page);
        assert.equal(q.get('state'), req.state);
        const { claims } = await exchangeCode(S.server.issuer, req, q.get('code'));
        assert.ok(claims.sub, 'id_token sub');
      });
    } finally {
      await context.close().catch(() => {});
    }
  });

  test('verification of an address, then recovery by a code sent over SMTP sets a new password', { timeout: TEST_TIMEOUT }, async (t) => {
    const email = 'carol@example.com';
    const { context, page, events } = await newPage();
    try {
      await withDiagnostics(t, page, events, async () => {
        // Standalone verification page: type the address, get a code by mail.
        await page.goto(`${S.server.uiUrl}/verification`, { timeout: STEP });
        await page.fill('#address', email);
        let since = Date.now();
        await Promise.all([page.waitForNavigation({ timeout: STEP }), page.click('button[name=step][value=send]')]);
        await page.locator('#email-code').waitFor({ timeout: STEP });
        const verifyMail = await S.smtp.mailTo(email, since);
        await page.fill('#email-code', codeIn(verifyMail.text));
        await Promise.all([page.waitForNavigation({ timeout: STEP }), page.click('button[name=step][value=verify]')]);
        assert.match(await page.textContent('h1'), /verified/i);

        // Recovery from the login page's "Forgot password?" link.
        await page.goto(`${S.server.uiUrl}/login`, { timeout: STEP });
        await Promise.all([page.waitForNavigation({ timeout: STEP }), page.click('a[href^="/recovery"]')]);
        assert.equal(new URL(page.url()).pathname, '/recovery');
        await page.fill('#address', email);
        since = Date.now();
        await Promise.all([page.waitForNavigation({ timeout: STEP }), page.click('button[name=step][value=send]')]);
        await page.locator('#code').waitFor({ timeout: STEP });
        assert.match(await page.textContent('[role=status]'), /code/i, 'a notice says a code was sent');
        const mail = await S.smtp.mailTo(email, since);
        assert.match(mail.subject, /Reset your/);

        // A common password is refused beside the field; then a good one.
        await page.fill('#code', codeIn(mail.text));
        await page.fill('#new-password', 'password');
        await Promise.all([page.waitForNavigation({ timeout: STEP }), page.click('button[name=step][value=reset]')]);
        await page.locator('#new_password-error').waitFor({ timeout: STEP });
        await page.fill('#code', codeIn(mail.text));
        await page.fill('#new-password', 'a recovered passphrase');
        await Promise.all([page.waitForNavigation({ timeout: STEP }), page.click('button[name=step][value=reset]')]);
        assert.equal(new URL(page.url()).pathname, '/settings', 'signed in after the reset');
      });
    } finally {
      await context.close().catch(() => {});
    }

    // The new password works in another browser, the old one does not.
    const other = await newPage();
    try {
      await withDiagnostics(t, other.page, other.events, async () => {
        await other.page.goto(`${S.server.uiUrl}/login`, { timeout: STEP });
        await passwordLogin(other.page, email, PASSWORD);
        await other.page.locator('[role=alert]').waitFor({ timeout: STEP });
        await passwordLogin(other.page, email, 'a recovered passphrase');
        assert.equal(new URL(other.page.url()).pathname, '/settings');
      });
    } finally {
      await other.context.close().catch(() => {});
    }
  });

  test('settings: change the name, see own sessions, end another one, sign out', { timeout: TEST_TIMEOUT }, async (t) => {
    const email = 'dave@example.com';
    const here = await newPage();
    const there = await newPage();
    try {
      await withDiagnostics(t, here.page, here.events, async () => {
        for (const b of [there, here]) {
          await b.page.goto(`${S.server.uiUrl}/settings`, { timeout: STEP });
          assert.equal(new URL(b.page.url()).pathname, '/login', 'settings needs a session');
          await passwordLogin(b.page, email);
          assert.equal(new URL(b.page.url()).pathname, '/settings', 'back to settings after login');
        }
        const page = here.page;
        assert.equal(await page.inputValue('#name'), 'Dave Settings');
        await page.fill('#name', 'David Q. Settings');
        await page.fill('#username', 'dave_q');
        await Promise.all([page.waitForNavigation({ timeout: STEP }), page.click('form[action="/settings/profile"] button[type=submit]')]);
        assert.match(await page.textContent('[role=status]'), /saved/i);
        await page.reload({ timeout: STEP });
        assert.equal(await page.inputValue('#name'), 'David Q. Settings', 'the new name stays');
        assert.equal(await page.inputValue('#username'), 'dave_q');

        const sessions = page.locator('ul.sessions li');
        assert.equal(await sessions.count(), 2, 'both browsers are listed');
        assert.equal(await page.locator('ul.sessions li:has-text("This session")').count(), 1, 'this one is marked');
        await Promise.all([page.waitForNavigation({ timeout: STEP }), page.click('ul.sessions form button')]);
        assert.equal(await page.locator('ul.sessions li').count(), 1, 'the other session ended');

        // The other browser is signed out.
        await there.page.goto(`${S.server.uiUrl}/settings`, { timeout: STEP });
        assert.equal(new URL(there.page.url()).pathname, '/login', 'the ended session no longer opens settings');

        // Sign out (a CSRF-protected form, so no confirmation): the logged-out page.
        await Promise.all([
          page.waitForURL((u) => u.origin === S.server.uiUrl && u.pathname === '/logged-out', { timeout: STEP }),
          page.click('form[action="/logout"] button:has-text("Sign out")'),
        ]);
        assert.match(await page.textContent('h1'), /Signed out/);
        await page.goto(`${S.server.uiUrl}/settings`, { timeout: STEP });
        assert.equal(new URL(page.url()).pathname, '/login');
      });
    } finally {
      await here.context.close().catch(() => {});
      await there.context.close().catch(() => {});
    }
  });

  test('consent for a client without skip-consent: allow issues a code, deny returns access_denied', { timeout: TEST_TIMEOUT }, async (t) => {
    // Two people: a consent once given is remembered for the same person and client.
    for (const [action, email] of [['allow', 'erin@example.com'], ['deny', 'gina@example.com']]) {
      const { context, page, events } = await newPage();
      try {
        await withDiagnostics(t, page, events, async () => {
          const req = authorizationRequest(S.server.issuer, {
            clientId: 'third-party',
            redirectUri: `${S.appUrl}/callback`,
            scope: 'openid profile email offline',
          });
          await page.goto(req.url, { timeout: STEP });
          await page.waitForURL((u) => u.pathname === '/login', { timeout: STEP });
          assert.match(await page.textContent('.sub'), /Third-Party Notes/, 'the login page names the client');
          await passwordLogin(page, email);
          await page.waitForURL((u) => u.origin === S.server.uiUrl && u.pathname === '/consent', { timeout: STEP });
          assert.match(await page.textContent('h1'), /Allow access/);
          assert.match(await page.textContent('.sub'), /Third-Party Notes/);
          const scopes = await page.locator('ul.scopes li').allTextContents();
          assert.equal(scopes.length, 4, `one line per scope: ${scopes}`);
          assert.ok(!scopes.includes('offline') && !scopes.includes('openid'), `scopes in plain words: ${scopes}`);

          await page.click(`button[name=action][value=${action}]`);
          const q = await callbackParams(page);
          assert.equal(q.get('state'), req.state);
          if (action === 'allow') {
            assert.ok(q.get('code'), 'allow: a code');
            const { tokens, claims } = await exchangeCode(S.server.issuer, req, q.get('code'));
            assert.equal(claims.email, 'erin@example.com');
            assert.match(tokens.scope, /profile/);
          } else {
            assert.equal(q.get('error'), 'access_denied', 'deny: access_denied');
            assert.equal(q.get('code'), null, 'deny: no code');
          }
        });
      } finally {
        await context.close().catch(() => {});
      }
    }
  });

  test('popup mode: a compact page in a popup window that posts the result to its opener and closes', { timeout: TEST_TIMEOUT }, async (t) => {
    const { context, page, events } = await newPage({ viewport: { width: 1024, height: 700 } });
    try {
      await withDiagnostics(t, page, events, async () => {
        await page.goto(`${S.appUrl}/opener`, { timeout: STEP });
        const [popup] = await Promise.all([page.waitForEvent('popup', { timeout: STEP }), page.click('#open')]);
        const popupEvents = watchPage(popup);
        try {
          await popup.waitForLoadState('load', { timeout: STEP });
          await popup.locator('#identifier').waitFor({ timeout: STEP });
          const layout = await popup.evaluate(() => {
            const card = document.querySelector('main.card');
            const cs = getComputedStyle(card);
            return {
              bodyClass: document.body.className,
              cardWidth: card.getBoundingClientRect().width,
              viewport: document.documentElement.clientWidth,
              margin: cs.marginTop,
              shadow: cs.boxShadow,
              radius: cs.borderTopLeftRadius,
            };
          });
          assert.equal(layout.bodyClass, 'popup', 'body.popup');
          assert.equal(layout.margin, '0px', 'no margin around the card');
          assert.equal(layout.shadow, 'none', 'no card shadow');
          assert.equal(layout.radius, '0px', 'no rounded card');
          assert.ok(Math.abs(layout.cardWidth - layout.viewport) < 1, `the card fills the window: ${JSON.stringify(layout)}`);
          // The hidden mode field keeps the popup layout across the POST.
          assert.equal(await popup.locator('input[type=hidden][name=mode]').getAttribute('value'), 'popup');

          const closed = popup.waitForEvent('close', { timeout: STEP });
          await popup.fill('#identifier', 'frank@example.com');
          await popup.fill('#password', PASSWORD);
          await popup.click('button[name=step][value=login]');
          await closed;
        } catch (e) {
          e.message += `\n--- popup events ---\n${popupEvents.slice(-30).join('\n')}`;
          throw e;
        }
        await page.locator('#result:not(:empty)').waitFor({ timeout: STEP });
        const result = JSON.parse(await page.textContent('#result'));
        assert.equal(result.origin, S.server.uiUrl, 'posted by the login UI');
        assert.deepEqual(result.data, { type: 'oneauth:login', status: 'success' });
      });
    } finally {
      await context.close().catch(() => {});
    }
  });
});
