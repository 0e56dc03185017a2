// Browser-like OAuth flows over HTTP for the load benchmark, against OneAuth
// or the peer (node-oidc-provider): authorize -> login page -> login POST ->
// redirects -> code -> token. No dependencies: node:http with keep-alive.
//
//   node flows.mjs codes  --target T --out FILE [--concurrency C] [--seconds S] [--max N]
//       codes minted by real flows: each worker logs in once with its password,
//       then reuses its session cookie for further authorize requests
//   node flows.mjs tokens --target T --n N --out-refresh FILE --out-access FILE
//       N code flows exchanged for token sets (refresh chains, a bearer token)
//   node flows.mjs logins --target T [--concurrency C] [--seconds S]
//       full password logins, each in a fresh cookie jar, each ending in a
//       code exchange; prints {flows, errors, seconds, rate, p50_ms, p99_ms}
//
// T is `oneauth` or `peer`. Endpoints come from --public and (OneAuth) --ui.
// Users are user0..user{N-1}@example.com (--users N), all with one password.

import http from 'node:http';
import crypto from 'node:crypto';
import fs from 'node:fs';

const args = parseArgs(process.argv.slice(2));
const cmd = args._[0];
const target = args.target ?? 'oneauth';
const PUBLIC = args.public ?? 'http://127.0.0.1:28080';
const PASSWORD = args.password ?? 'correct horse battery staple';
const USERS = Number(args.users ?? 16);
const REDIRECT = 'http://127.0.0.1:3000/callback';
const CLIENT_ID = 'web-app';

const agent = new http.Agent({ keepAlive: true, maxSockets: 256 });

const ENDPOINTS = target === 'peer'
  ? { authorize: `${PUBLIC}/auth`, token: `${PUBLIC}/token`, scope: 'openid profile email offline_access' }
  : { authorize: `${PUBLIC}/oauth2/auth`, token: `${PUBLIC}/oauth2/token`, scope: 'openid profile email offline' };

function parseArgs(argv) {
  const out = { _: [] };
  for (let i = 0; i < argv.length; i++) {
    if (argv[i].startsWith('--')) out[argv[i].slice(2)] = argv[++i];
    else out._.push(argv[i]);
  }
  return out;
}

function request(method, url, { headers = {}, body } = {}) {
  return new Promise((resolve, reject) => {
    const u = new URL(url);
    const req = http.request(
      { method, hostname: u.hostname, port: u.port, path: u.pathname + u.search, headers, agent },
      (res) => {
        const chunks = [];
        res.on('data', (c) => chunks.push(c));
        res.on('end', () => resolve({
          status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks).toString(),
        }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.setTimeout(30_000, () => req.destroy(new Error(`timeout: ${method} ${url}`)));
    if (body !== undefined) req.write(body);
    req.end();
  });
}

/** Cookies by name for one host (ports ignored, as browsers do); paths ignored. */
class Jar {
  constructor() { this.cookies = new Map(); }
  header() {
    return [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ');
  }
  take(res) {
    const set = res.headers['set-cookie'];
    if (!set) return;
    for (const line of set) {
      const [pair, ...attrs] = line.split(';');
      const eq = pair.indexOf('=');
      const name = pair.slice(0, eq).trim();
      const value = pair.slice(eq + 1).trim();
      const gone = value === '' || attrs.some((a) => {
        const [k, v] = a.trim().split('=');
        if (k.toLowerCase() === 'max-age') return Number(v) <= 0;
        if (k.toLowerCase() === 'expires') return Date.parse(v) < Date.now();
        return false;
      });
      if (gone) this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
  }
  async send(method, url, opts = {}) {
    const headers = { ...(opts.headers ?? {}) };
    const c = this.header();
    if (c) headers.cookie = c;
    const res = await request(method, url, { ...opts, headers });
    this.take(res);
    return res;
  }
}

function unescapeHtml(s) {
  return s.replace(/&#x2F;/gi, '/').replace(/&#x27;|&#39;/g, "'").replace(/&quot;/g, '"')
    .replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&');
}

/** The login form of a page: its action and hidden fields. */
function loginForm(html) {
  const action = html.match(/<form[^>]*method="post"[^>]*action="([^"]*)"/i)
    ?? html.match(/<form[^>]*action="([^"]*)"[^>]*method="post"/i);
  if (!action) return null;
  const fields = {};
  for (const m of html.matchAll(/<input type="hidden" name="([^"]+)" value="([^"]*)"/g)) {
    fields[m[1]] = unescapeHtml(m[2]);
  }
  return { action: unescapeHtml(action[1]), fields };
}

function pkcePair() {
  const verifier = crypto.randomBytes(32).toString('base64url');
  const challenge = crypto.createHash('sha256').update(verifier).digest('base64url');
  return { verifier, challenge };
}

function authorizeUrl(challenge) {
  const u = new URL(ENDPOINTS.authorize);
  u.search = new URLSearchParams({
    client_id: CLIENT_ID,
    redirect_uri: REDIRECT,
    response_type: 'code',
    scope: ENDPOINTS.scope,
    state: crypto.randomBytes(8).toString('hex'),
    nonce: crypto.randomBytes(8).toString('hex'),
    code_challenge: challenge,
    code_challenge_method: 'S256',
  }).toString();
  return u.toString();
}

/**
 * authorize -> (login page -> POST) -> redirects -> code. With a live session
 * in `jar` no login page is shown. Returns the code; throws on anything else.
 */
async function flowForCode(jar, email, challenge) {
  let url = authorizeUrl(challenge);
  let method = 'GET';
  let body;
  for (let step = 0; step < 12; step++) {
    if (url.startsWith(REDIRECT)) {
      const code = new URL(url).searchParams.get('code');
      if (!code) throw new Error(`no code in ${url}`);
      return code;
    }
    const headers = body ? { 'content-type': 'application/x-www-form-urlencoded' } : {};
    const res = await jar.send(method, url, { headers, body });
    method = 'GET';
    body = undefined;
    if (res.status >= 300 && res.status < 400 && res.headers.location) {
      url = new URL(res.headers.location, url).toString();
      continue;
    }
    const form = res.status === 200 ? loginForm(res.body) : null;
    if (!form) throw new Error(`${url} answered ${res.status}: ${res.body.slice(0, 300)}`);
    body = new URLSearchParams({
      ...form.fields, method: 'password', identifier: email, password: PASSWORD,
    }).toString();
    method = 'POST';
    url = new URL(form.action, url).toString();
  }
  throw new Error('too many steps');
}

async function exchange(code, verifier) {
  const res = await request('POST', ENDPOINTS.token, {
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({
      grant_type: 'authorization_code', code, redirect_uri: REDIRECT,
      client_id: CLIENT_ID, code_verifier: verifier,
    }).toString(),
  });
  if (res.status !== 200) throw new Error(`token answered ${res.status}: ${res.body}`);
  return JSON.parse(res.body);
}

const user = (i) => `user${i % USERS}@example.com`;

function percentile(sorted, p) {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

// The codes of a run share one PKCE pair: the exchange load then sends one
// verifier (as every real client does, just not the same one).
async function codes() {
  const concurrency = Number(args.concurrency ?? 16);
  const deadline = Date.now() + Number(args.seconds ?? 30) * 1000;
  const max = Number(args.max ?? 200_000);
  const { verifier, challenge } = pkcePair();
  const out = [];
  let errors = 0;
  const t0 = Date.now();
  await Promise.all(Array.from({ length: concurrency }, async (_, w) => {
    const jar = new Jar();
    while (Date.now() < deadline && out.length < max) {
      try {
        out.push(await flowForCode(jar, user(w), challenge));
      } catch (e) {
        if (++errors <= 3) console.error(`codes: ${e.message}`);
        if (errors > 100) throw e;
      }
    }
  }));
  const seconds = (Date.now() - t0) / 1000;
  fs.writeFileSync(args.out, out.join('\n') + '\n');
  fs.writeFileSync(`${args.out}.verifier`, verifier);
  console.log(JSON.stringify({ codes: out.length, errors, seconds, rate: out.length / seconds }));
}

async function tokens() {
  const n = Number(args.n ?? 64);
  const refresh = [];
  let access;
  await Promise.all(Array.from({ length: Math.min(n, 16) }, async (_, w) => {
    const jar = new Jar();
    while (refresh.length < n) {
      const { verifier, challenge } = pkcePair();
      const t = await exchange(await flowForCode(jar, user(w), challenge), verifier);
      if (!t.refresh_token || !t.access_token) throw new Error(`no tokens: ${JSON.stringify(t)}`);
      refresh.push(t.refresh_token);
      access ??= t.access_token;
    }
  }));
  fs.writeFileSync(args['out-refresh'], refresh.slice(0, n).join('\n') + '\n');
  fs.writeFileSync(args['out-access'], access);
  console.log(JSON.stringify({ tokens: Math.min(refresh.length, n) }));
}

async function logins() {
  const concurrency = Number(args.concurrency ?? 32);
  const seconds = Number(args.seconds ?? 10);
  const deadline = Date.now() + seconds * 1000;
  const lat = [];
  let errors = 0;
  let next = 0;
  const t0 = Date.now();
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (Date.now() < deadline) {
      const start = process.hrtime.bigint();
      try {
        const { verifier, challenge } = pkcePair();
        const code = await flowForCode(new Jar(), user(next++), challenge);
        await exchange(code, verifier);
        lat.push(Number(process.hrtime.bigint() - start) / 1e6);
      } catch (e) {
        if (++errors <= 3) console.error(`logins: ${e.message}`);
        if (errors > 1000) throw e;
      }
    }
  }));
  const elapsed = (Date.now() - t0) / 1000;
  lat.sort((a, b) => a - b);
  console.log(JSON.stringify({
    flows: lat.length, errors, seconds: elapsed, rate: lat.length / elapsed,
    p50_ms: percentile(lat, 50), p99_ms: percentile(lat, 99),
  }));
}

const commands = { codes, tokens, logins };
if (!commands[cmd]) {
  console.error(`usage: node flows.mjs ${Object.keys(commands).join('|')} --target oneauth|peer ...`);
  process.exit(2);
}
commands[cmd]().then(() => process.exit(0), (e) => {
  console.error(e.stack ?? e);
  process.exit(1);
});
