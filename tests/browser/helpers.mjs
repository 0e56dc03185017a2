// Shared by the browser tests: the oneauth binary and Debian's chromium,
// free loopback ports, the CLI, a server process with bounded readiness
// polling, PKCE, and failure diagnostics (page text, browser events,
// server output).

import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { existsSync } from 'node:fs';
import fs from 'node:fs/promises';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

export const HERE = path.dirname(fileURLToPath(import.meta.url));
export const REPO_ROOT = path.resolve(HERE, '..', '..');

export const ONEAUTH_BIN = process.env.ONEAUTH_BIN
  ? path.resolve(process.env.ONEAUTH_BIN)
  : path.join(
      process.env.CARGO_TARGET_DIR ? path.resolve(process.env.CARGO_TARGET_DIR) : path.join(REPO_ROOT, 'target'),
      'debug',
      'oneauth',
    );
export const CHROMIUM = process.env.CHROMIUM_PATH || '/usr/bin/chromium';

const CLI_TIMEOUT_MS = 15_000;
const READY_TRIES = 80;
const READY_INTERVAL_MS = 250;

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
export const tail = (s, n = 4000) => (s.length > n ? `…${s.slice(-n)}` : s);
export const short = (u, n = 160) => (u.length > n ? `${u.slice(0, n)}…` : u);

export function assertPrerequisites() {
  assert.ok(
    existsSync(ONEAUTH_BIN),
    `oneauth binary not found at ${ONEAUTH_BIN} (build it with \`cargo build -p oneauth\` or set ONEAUTH_BIN)`,
  );
  assert.ok(existsSync(CHROMIUM), `chromium not found at ${CHROMIUM} (apt-get install -y chromium)`);
}

const AXE_SOURCE = path.join(HERE, 'node_modules', 'axe-core', 'axe.min.js');
let axeSource = null;

/** axe-core's violations on the page (evaluated over the DevTools protocol, so the page's CSP stays as it is). */
export async function axeViolations(page) {
  axeSource ??= await fs.readFile(AXE_SOURCE, 'utf8').catch(() => {
    throw new Error(`axe-core missing at ${AXE_SOURCE} (run npm ci in tests/browser)`);
  });
  await page.evaluate(axeSource);
  const result = await page.evaluate(() =>
    window.axe.run(document, { resultTypes: ['violations'] }).then((r) => ({
      rulesPassed: r.passes.length,
      violations: r.violations.map((v) => ({
        id: v.id,
        impact: v.impact,
        help: v.help,
        nodes: v.nodes.slice(0, 5).map((n) => `${n.target.join(' ')}: ${n.failureSummary?.split('\n').slice(1).join(' ')}`),
      })),
    })),
  );
  assert.ok(result.rulesPassed > 10, `axe-core checked almost nothing (${result.rulesPassed} rules passed)`);
  return result.violations;
}

/** Free loopback ports: bind all to port 0 at once (so they differ), then close. */
export async function freePorts(n) {
  const servers = await Promise.all(
    Array.from({ length: n }, () =>
      new Promise((resolve, reject) => {
        const s = net.createServer();
        s.unref();
        s.once('error', reject);
        s.listen(0, '127.0.0.1', () => resolve(s));
      }),
    ),
  );
  const ports = servers.map((s) => s.address().port);
  await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
  return ports;
}

/** Environment for oneauth: drop ONEAUTH_* config overrides so only our flags and file count. */
export function serverEnv() {
  const env = { ...process.env };
  for (const k of Object.keys(env)) if (k.startsWith('ONEAUTH_')) delete env[k];
  env.RUST_BACKTRACE ??= '1';
  return env;
}

export function runCli(args, env = {}) {
  return new Promise((resolve, reject) => {
    execFile(ONEAUTH_BIN, args, { env: { ...serverEnv(), ...env }, timeout: CLI_TIMEOUT_MS, maxBuffer: 4 << 20 }, (err, stdout, stderr) => {
      if (err) {
        reject(
          new Error(
            `oneauth ${args.join(' ')} failed (${err.killed ? 'timed out' : `exit ${err.code}`})\n` +
              `--- stdout ---\n${stdout}\n--- stderr ---\n${stderr}`,
          ),
        );
      } else resolve({ stdout, stderr });
    });
  });
}

export const makeDataDir = () => fs.mkdtemp(path.join(os.tmpdir(), 'oneauth-e2e-'));

export async function removeDataDir(dir) {
  if (dir && !process.env.ONEAUTH_E2E_KEEP) await fs.rm(dir, { recursive: true, force: true }).catch(() => {});
}

const running = new Set();
process.on('exit', () => {
  for (const child of running) {
    try {
      child.kill('SIGKILL');
    } catch {}
  }
});

/**
 * `oneauth serve` on three loopback ports; resolves once /health/ready
 * answers 200. `globalArgs` go before `serve` (e.g. `--config FILE`).
 * `host` names the server in its public URLs (`localhost` makes a second
 * site beside 127.0.0.1, with cookies of its own). `urls` ({issuer,
 * uiUrl}) gives another node's public URLs instead, for a second node of
 * a cluster behind one address; `env` adds environment variables.
 */
export async function startOneAuth({ dataDir, ports, globalArgs = [], host = '127.0.0.1', urls = null, env = {} }) {
  const [pub, ui, admin] = ports;
  const srv = {
    issuer: urls?.issuer ?? `http://${host}:${pub}`,
    uiUrl: urls?.uiUrl ?? `http://${host}:${ui}`,
    adminUrl: `http://${host}:${admin}`,
    out: '',
    exit: null,
    child: null,
  };
  const args = [
    ...globalArgs,
    '--data-dir', dataDir,
    'serve',
    '--issuer', srv.issuer,
    '--ui-url', srv.uiUrl,
    '--public-listen', `127.0.0.1:${pub}`,
    '--ui-listen', `127.0.0.1:${ui}`,
    '--admin-listen', `127.0.0.1:${admin}`,
  ];
  const child = spawn(ONEAUTH_BIN, args, { env: { ...serverEnv(), ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  srv.child = child;
  running.add(child);
  const collect = (d) => {
    srv.out += d.toString();
    if (srv.out.length > 200_000) srv.out = srv.out.slice(-100_000);
  };
  child.stdout.on('data', collect);
  child.stderr.on('data', collect);
  child.on('error', (e) => collect(`\n[spawn error] ${e.message}\n`));
  child.on('exit', (code, signal) => {
    srv.exit = { code, signal };
    running.delete(child);
  });
  srv.stop = async () => {
    if (srv.exit !== null) return;
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGTERM');
    if (!(await Promise.race([exited.then(() => true), sleep(3000).then(() => false)]))) {
      child.kill('SIGKILL');
      await Promise.race([exited, sleep(1000)]);
    }
  };

  // This node's own listener (the issuer may name another node).
  const readyUrl = `http://127.0.0.1:${pub}/health/ready`;
  let last = 'no answer';
  for (let i = 0; i < READY_TRIES; i++) {
    if (srv.exit !== null) {
      throw new Error(`oneauth serve exited early (${JSON.stringify(srv.exit)})\n--- server output ---\n${tail(srv.out)}`);
    }
    try {
      const r = await fetch(readyUrl, { signal: AbortSignal.timeout(1000) });
      if (r.status === 200) return srv;
      last = `HTTP ${r.status}: ${(await r.text()).slice(0, 300)}`;
    } catch (e) {
      last = `${e.name}: ${e.cause?.code || e.message}`;
    }
    await sleep(READY_INTERVAL_MS);
  }
  await srv.stop();
  throw new Error(
    `oneauth never became ready: GET ${readyUrl} -> ${last} after ${READY_TRIES} tries\n` +
      `--- server output ---\n${tail(srv.out)}`,
  );
}

export function launchChromium() {
  return chromium.launch({
    executablePath: CHROMIUM,
    timeout: 15_000,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}

/** Attach listeners that record what the browser saw, for failure reports. */
export function watchPage(page) {
  const events = [];
  page.on('console', (m) => events.push(`console.${m.type()}: ${m.text()}`));
  page.on('pageerror', (e) => events.push(`pageerror: ${e.message}`));
  page.on('requestfailed', (r) => events.push(`requestfailed: ${r.method()} ${short(r.url())} ${r.failure()?.errorText}`));
  page.on('response', (r) => {
    const s = r.status();
    events.push(`${s >= 400 ? 'HTTP ERROR' : 'response'} ${s} ${r.request().method()} ${short(r.url())}`);
  });
  page.on('framenavigated', (f) => {
    if (f === page.mainFrame()) events.push(`navigated: ${short(f.url())}`);
  });
  return events;
}

/** Runs `fn`; on failure adds the page's URL and text, browser events and the server's output tail. */
export async function withDiagnostics(t, page, events, serverOut, fn) {
  try {
    await fn();
    if (process.env.ONEAUTH_E2E_VERBOSE) for (const e of events) t.diagnostic(e);
  } catch (err) {
    let body = '';
    try {
      body = await page.evaluate(() => document.body?.innerText ?? '');
    } catch {}
    err.message +=
      `\n--- page url ---\n${page.url()}` +
      `\n--- page text ---\n${tail(body, 1500)}` +
      `\n--- browser events ---\n${events.slice(-60).join('\n')}` +
      `\n--- server output (tail) ---\n${tail(serverOut(), 3000)}`;
    throw err;
  }
}

const b64url = (buf) => buf.toString('base64url');

/** A PKCE pair (S256). */
const UPDATE_SCREENSHOTS = process.env.UPDATE_SCREENSHOTS === '1';

/**
 * The page's visible text with what differs from run to run (loopback
 * ports, request ids, clock times) replaced by placeholders, so that it
 * changes only when the page does.
 */
async function stableText(page) {
  const text = await page.evaluate(() => document.body.innerText);
  return `${text
    .replace(/127\.0\.0\.1:\d+/g, '127.0.0.1:PORT')
    .replace(/\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b/gi, 'UUID')
    .replace(/\b\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}(:\d{2})?( ?UTC|Z)?/g, 'DATETIME')
    // A TOTP key (base32, in groups of four) and recovery codes (xxxxx-xxxxx): random per run.
    .replace(/\b(?:[A-Z2-7]{4} ){7}[A-Z2-7]{4}\b/g, 'TOTP-KEY')
    .replace(/\b[2-9a-hjkmnp-z]{5}-[2-9a-hjkmnp-z]{5}\b/g, 'RECOVERY-CODE')
    .split('\n')
    .map((l) => l.trimEnd())
    .filter((l) => l !== '')
    .join('\n')}\n`;
}

/**
 * A screenshot of the page as DIR/FILE, checked against the text recorded
 * with it (TEXTFILE, default FILE with .txt): a run fails when the page says
 * something its checked-in screenshot does not. UPDATE_SCREENSHOTS=1
 * rewrites both.
 */
export async function checkedScreenshot(page, dir, file, textFile = file.replace(/\.png$/, '.txt')) {
  const text = await stableText(page);
  const textPath = path.join(dir, textFile);
  const pngPath = path.join(dir, file);
  const regenerate = 'UPDATE_SCREENSHOTS=1 node --test tests/browser/, review the images, commit them';
  if (UPDATE_SCREENSHOTS) {
    await fs.writeFile(textPath, text);
    await page.screenshot({ path: pngPath, fullPage: true, animations: 'disabled', caret: 'hide' });
    return;
  }
  const recorded = await fs.readFile(textPath, 'utf8').catch(() => null);
  const png = await fs.stat(pngPath).catch(() => null);
  assert.ok(recorded !== null && png !== null, `${file} or ${textFile} is missing from ${dir}: ${regenerate}`);
  assert.equal(text, recorded, `${file} no longer shows this page (its text differs from ${textFile}): ${regenerate}`);
}

export function pkce() {
  const verifier = b64url(randomBytes(32));
  const challenge = b64url(createHash('sha256').update(verifier).digest());
  return { verifier, challenge };
}

/** Polls `fn` until it returns something truthy; bounded by `timeoutMs`. */
export async function waitFor(what, fn, { timeoutMs = 8000, intervalMs = 50 } = {}) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(intervalMs);
  }
}

/** The six-digit code in a message text. */
export function codeIn(text) {
  const m = /(?<!\d)(\d{6})(?!\d)/.exec(text ?? '');
  assert.ok(m, `no 6-digit code in the message: ${JSON.stringify(text)}`);
  return m[1];
}

/**
 * A real SMTP server process on loopback (smtp-sink.mjs: npm smtp-server +
 * mailparser). `mails` fills as messages arrive; `mailTo(addr, since)`
 * waits for the newest one to an address.
 */
export async function startSmtpSink() {
  const child = spawn(process.execPath, [path.join(HERE, 'smtp-sink.mjs'), '0'], {
    cwd: HERE,
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  running.add(child);
  const sink = { child, port: null, mails: [], out: '', exit: null };
  child.on('exit', (code, signal) => {
    sink.exit = { code, signal };
    running.delete(child);
  });
  child.stderr.on('data', (d) => (sink.out += d.toString()));
  let buf = '';
  let onReady;
  const ready = new Promise((r) => (onReady = r));
  child.stdout.on('data', (d) => {
    buf += d.toString();
    let nl;
    while ((nl = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, nl);
      buf = buf.slice(nl + 1);
      let msg;
      try {
        msg = JSON.parse(line);
      } catch {
        sink.out += `${line}\n`;
        continue;
      }
      if (msg.ready) {
        sink.port = msg.ready;
        onReady();
      } else if (msg.mail) sink.mails.push({ at: Date.now(), ...msg.mail });
    }
  });
  await Promise.race([
    ready,
    sleep(10_000).then(() => {
      throw new Error(`smtp-sink did not start: ${sink.out} ${JSON.stringify(sink.exit)}`);
    }),
  ]);
  sink.mailTo = (address, since = 0, timeoutMs = 8000) =>
    waitFor(`a mail to ${address} over SMTP`, () =>
      sink.mails.filter((m) => m.at >= since && m.to.includes(address)).at(-1),
    { timeoutMs }).catch((e) => {
      e.message += `\nmails so far: ${JSON.stringify(sink.mails.map((m) => ({ to: m.to, subject: m.subject })))}\nsink stderr: ${sink.out}`;
      throw e;
    });
  sink.stop = async () => {
    if (sink.exit !== null) return;
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGTERM');
    if (!(await Promise.race([exited.then(() => true), sleep(2000).then(() => false)]))) child.kill('SIGKILL');
  };
  return sink;
}

/**
 * An HTTP receiver for OneAuth's courier webhook (JSON POST, signed with
 * `X-OneAuth-Signature: sha256=<hex HMAC-SHA256 of the body>`). Each
 * received request is kept with its raw body, parsed JSON and whether the
 * signature checked out against `secret`.
 */
export async function startWebhookReceiver(secret) {
  const hooks = [];
  const server = http.createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks);
      const expected = Buffer.from(`sha256=${createHmac('sha256', secret).update(raw).digest('hex')}`);
      const got = Buffer.from(String(req.headers['x-oneauth-signature'] ?? ''));
      let json = null;
      try {
        json = JSON.parse(raw.toString('utf8'));
      } catch {}
      hooks.push({
        at: Date.now(),
        method: req.method,
        path: req.url,
        contentType: req.headers['content-type'] ?? '',
        signature: got.toString(),
        signatureValid: got.length === expected.length && timingSafeEqual(got, expected),
        raw: raw.toString('utf8'),
        json,
      });
      res.writeHead(204);
      res.end();
    });
  });
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const url = `http://127.0.0.1:${server.address().port}/sms`;
  return {
    url,
    hooks,
    messageTo: (to, since = 0, timeoutMs = 8000) =>
      waitFor(`a webhook message to ${to}`, () => hooks.filter((h) => h.at >= since && h.json?.to === to).at(-1), {
        timeoutMs,
      }).catch((e) => {
        e.message += `\nwebhook calls so far: ${JSON.stringify(hooks.map((h) => h.json?.to))}`;
        throw e;
      }),
    stop: () =>
      new Promise((r) => {
        server.close(r);
        server.closeAllConnections?.();
      }),
  };
}

/** `/oauth2/auth` with PKCE S256 and a random state; returns the URL and what the token request needs. */
export function authorizationRequest(issuer, { clientId, redirectUri, scope = 'openid profile email offline', extra = {} }) {
  const { verifier, challenge } = pkce();
  const state = b64url(randomBytes(12));
  const u = new URL(`${issuer}/oauth2/auth`);
  const q = {
    client_id: clientId,
    redirect_uri: redirectUri,
    response_type: 'code',
    scope,
    state,
    nonce: b64url(randomBytes(12)),
    code_challenge: challenge,
    code_challenge_method: 'S256',
    ...extra,
  };
  for (const [k, v] of Object.entries(q)) u.searchParams.set(k, v);
  return { url: u.href, state, verifier, clientId, redirectUri };
}

/** Exchanges an authorization code (public client, PKCE); returns the token response and the id_token's claims. */
export async function exchangeCode(issuer, req, code) {
  const r = await fetch(`${issuer}/oauth2/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({
      grant_type: 'authorization_code',
      code,
      redirect_uri: req.redirectUri,
      client_id: req.clientId,
      code_verifier: req.verifier,
    }),
    signal: AbortSignal.timeout(8000),
  });
  const text = await r.text();
  assert.equal(r.status, 200, `token request -> HTTP ${r.status}: ${text.slice(0, 500)}`);
  const tokens = JSON.parse(text);
  const claims = tokens.id_token ? JSON.parse(Buffer.from(tokens.id_token.split('.')[1], 'base64url').toString('utf8')) : null;
  return { tokens, claims };
}

/** RFC 4648 base32 (no padding) to bytes. */
function base32(text) {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  let bits = 0;
  let value = 0;
  const out = [];
  for (const c of text) {
    const i = alphabet.indexOf(c);
    assert.ok(i >= 0, `not base32: ${text}`);
    value = (value << 5) | i;
    bits += 5;
    if (bits >= 8) {
      bits -= 8;
      out.push((value >>> bits) & 0xff);
    }
  }
  return Buffer.from(out);
}

/** RFC 6238 (SHA-1, 6 digits, 30 s) at `unixSeconds`, as an authenticator app computes it. */
export function totp(secret, unixSeconds) {
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(Math.floor(unixSeconds / 30)));
  const h = createHmac('sha1', base32(secret)).update(counter).digest();
  const o = h[h.length - 1] & 0x0f;
  return String((h.readUInt32BE(o) & 0x7fffffff) % 1_000_000).padStart(6, '0');
}

/** The current code, waited for when the step ends within 3 s (so it does not turn while typed). */
export async function freshCode(secret) {
  const left = 30 - ((Date.now() / 1000) % 30);
  if (left < 3) await sleep(left * 1000 + 200);
  return totp(secret, Date.now() / 1000);
}

/** Where checked screenshots live: docs/screenshots, or ONEAUTH_SCREENSHOT_DIR. */
export const SCREENSHOT_DIR = process.env.ONEAUTH_SCREENSHOT_DIR
  ? path.resolve(process.env.ONEAUTH_SCREENSHOT_DIR)
  : path.join(REPO_ROOT, 'docs', 'screenshots');

/** Whether a font with Chinese glyphs is installed (else Chinese screenshots would show boxes). */
export function hasCjkFont() {
  return new Promise((resolve) => {
    execFile('fc-list', [':lang=zh', 'family'], { timeout: 5000 }, (err, stdout) => resolve(!err && stdout.trim().length > 0));
  });
}

/**
 * A checked screenshot in SCREENSHOT_DIR; a Chinese one (`-zh` in its name)
 * only with a CJK font installed (`cjkFont`), else said as a diagnostic.
 */
export async function languageScreenshot(t, page, file, cjkFont, textFile) {
  if (file.includes('-zh') && !cjkFont) {
    t.diagnostic(`no CJK font installed (apt-get install fonts-wqy-microhei): not checking ${file}`);
    return;
  }
  await checkedScreenshot(page, SCREENSHOT_DIR, file, textFile);
}

/** axe-core finds nothing serious or critical on the page (the rest as diagnostics). */
export async function axeClean(t, page, name) {
  const violations = await axeViolations(page);
  for (const v of violations) t.diagnostic(`${name} axe ${v.impact}: ${v.id} (${v.help})`);
  const bad = violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  assert.deepEqual(bad, [], `${name}: serious or critical accessibility violations`);
}
