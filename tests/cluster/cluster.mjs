// Cluster test: three OneAuth nodes on loopback sharing one PostgreSQL.
// First a device authorization (RFC 8628) is started on one node, approved
// on another's page and polled on the third. Then logins and refreshes hop
// between nodes (authorize on one, log in on
// another, exchange and refresh on others) while one node is killed with
// SIGKILL and restarted and PostgreSQL is restarted once. Afterwards it
// checks that every flow that got a success is usable, nothing was issued
// twice, no refresh family has two live tokens, and every error answer had
// the documented shape. Prints the counts; exits non-zero on a violation.
//
// Usage: node tests/cluster/cluster.mjs   (needs ONEAUTH_BIN or a built
// target/debug/oneauth, and PostgreSQL on 127.0.0.1:5432 with trust auth)

import { spawn, execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const BIN = process.env.ONEAUTH_BIN
  ?? path.join(process.env.CARGO_TARGET_DIR ?? path.join(ROOT, 'target'), 'debug', 'oneauth');
const DB = 'oneauth_cluster';
const DB_URL = `postgres://postgres@127.0.0.1:5432/${DB}`;
const LOAD_MS = Number(process.env.CLUSTER_LOAD_MS ?? 24000);
const WORKERS = 6;
const REDIRECT = 'http://127.0.0.1:3999/callback';
const PASSWORD = 'correct horse battery staple';
const USERS = 4;

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const b64url = (buf) => buf.toString('base64url');

async function freePort() {
  return new Promise((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

function psql(sql, db = 'postgres') {
  return execFileSync('psql', ['-h', '127.0.0.1', '-U', 'postgres', '-d', db, '-tAc', sql], { encoding: 'utf8' }).trim();
}

function pgctl(action) {
  const version = readdirSync('/etc/postgresql')[0];
  execFileSync('pg_ctlcluster', ['--skip-systemctl-redirect', version, 'main', action], { stdio: 'inherit' });
}

// ---------------------------------------------------------------- nodes
const secret = b64url(randomBytes(32));
const nodes = [];
for (let i = 0; i < 3; i++) {
  nodes.push({ pub: await freePort(), ui: await freePort(), admin: await freePort(), dir: mkdtempSync(path.join(os.tmpdir(), `oneauth-node${i}-`)) });
}
// The issuer and UI URL are node 0's; the test rewrites every URL it follows
// to the node it picks, as a load balancer would route it.
const env = {
  ...process.env,
  ONEAUTH_DATABASE_URL: DB_URL,
  ONEAUTH_SECRETS__SYSTEM: secret,
  ONEAUTH_ISSUER: `http://127.0.0.1:${nodes[0].pub}`,
  ONEAUTH_UI_URL: `http://127.0.0.1:${nodes[0].ui}`,
  ONEAUTH_LOG__LEVEL: 'warn',
  // All load comes from 127.0.0.1 and four users: lift the login limits so
  // the flows, not the brute-force protection, are what is exercised.
  ONEAUTH_LIMITS__LOGIN_PER_IP_PER_MINUTE: '1000000',
  ONEAUTH_LIMITS__LOGIN_PER_IDENTIFIER_PER_MINUTE: '1000000',
};

function oneauth(args) {
  return execFileSync(BIN, ['--data-dir', nodes[0].dir, ...args], { env, encoding: 'utf8' });
}

function startNode(i) {
  const n = nodes[i];
  n.proc = spawn(BIN, ['--data-dir', n.dir, 'serve',
    '--public-listen', `127.0.0.1:${n.pub}`, '--ui-listen', `127.0.0.1:${n.ui}`, '--admin-listen', `127.0.0.1:${n.admin}`],
  { env, stdio: ['ignore', 'ignore', 'pipe'] });
  n.stderr = '';
  n.proc.stderr.on('data', (d) => { n.stderr = (n.stderr + d).slice(-4000); });
}

async function waitReady(i) {
  for (let t = 0; t < 150; t++) {
    try {
      const r = await fetch(`http://127.0.0.1:${nodes[i].pub}/health/ready`);
      if (r.ok) return;
    } catch { /* not up yet */ }
    await sleep(100);
  }
  throw new Error(`node ${i} never became ready:\n${nodes[i].stderr}`);
}

// ---------------------------------------------------------------- counts
const counts = {
  flows_ok: 0, refreshes_ok: 0, flow_failures: 0, connection_failures: 0,
  error_answers: {}, malformed_errors: 0,
};
const malformed = [];
const issued = { access: new Set(), refresh: new Set(), duplicates: 0 };
const flows = []; // { access, refresh, user }

function noteToken(kind, value) {
  if (!value) return;
  if (issued[kind].has(value)) issued.duplicates++;
  issued[kind].add(value);
}

// Every non-2xx/3xx answer must have the documented shape.
async function checkError(res, where) {
  const text = await res.text();
  const key = `${res.status}`;
  let ok = false;
  if ((res.headers.get('content-type') ?? '').includes('application/json')) {
    try {
      const b = JSON.parse(text);
      const inRange = (c) => (c >= 2001 && c <= 2999) || (c >= 3001 && c <= 3999) || (c >= 4001 && c <= 4999) || (c >= 5001 && c <= 5999);
      ok = typeof b.error === 'string' && typeof b.error_description === 'string'
        && (res.status === 429 ? b.code === undefined : inRange(b.code));
      counts.error_answers[`${key} ${b.error}${b.code ? ' ' + b.code : ''}`] = (counts.error_answers[`${key} ${b.error}${b.code ? ' ' + b.code : ''}`] ?? 0) + 1;
    } catch { ok = false; }
  } else {
    // The login UI answers with an HTML error page that names the code.
    ok = /role="alert"/.test(text);
    counts.error_answers[`${key} html`] = (counts.error_answers[`${key} html`] ?? 0) + 1;
  }
  if (!ok) {
    counts.malformed_errors++;
    if (malformed.length < 5) malformed.push(`${where}: ${res.status} ${text.slice(0, 200)}`);
  }
}

class Jar {
  constructor() { this.c = new Map(); }
  take(res) {
    for (const sc of res.headers.getSetCookie()) {
      const [pair, ...attrs] = sc.split(';');
      const i = pair.indexOf('=');
      const name = pair.slice(0, i).trim();
      const value = pair.slice(i + 1).trim();
      if (attrs.some((a) => /max-age=0/i.test(a)) || value === '') this.c.delete(name); else this.c.set(name, value);
    }
  }
  header() { return [...this.c].map(([k, v]) => `${k}=${v}`).join('; '); }
}

const pick = () => Math.floor(Math.random() * 3);
// Route a URL of node 0 (or any node) to node `i`.
function route(url, i) {
  const u = new URL(url);
  const ports = nodes.map((n) => [n.pub, n.ui]);
  const isUi = ports.some(([, ui]) => String(ui) === u.port);
  u.port = String(isUi ? nodes[i].ui : nodes[i].pub);
  return u.toString();
}

class ConnectionLost extends Error {}

async function http(url, init, jar, where) {
  let res;
  try {
    res = await fetch(url, { ...init, redirect: 'manual', headers: { ...(init?.headers ?? {}), cookie: jar.header() } });
  } catch {
    counts.connection_failures++;
    throw new ConnectionLost(where);
  }
  jar.take(res);
  return res;
}

class FlowFailed extends Error {}

async function expectStatus(res, ok, where) {
  if (ok.includes(res.status)) return res;
  await checkError(res, where);
  throw new FlowFailed(where);
}

async function loginFlow(user) {
  const jar = new Jar();
  const verifier = b64url(randomBytes(32));
  const challenge = b64url(createHash('sha256').update(verifier).digest());
  const q = new URLSearchParams({
    client_id: 'cluster-app', redirect_uri: REDIRECT, response_type: 'code',
    scope: 'openid email offline', state: 's', code_challenge: challenge, code_challenge_method: 'S256',
  });
  let res = await expectStatus(await http(route(`http://127.0.0.1:${nodes[0].pub}/oauth2/auth?${q}`, pick()), {}, jar, 'authorize'), [303], 'authorize');
  const loginUrl = route(res.headers.get('location'), pick());
  res = await expectStatus(await http(loginUrl, {}, jar, 'login page'), [200], 'login page');
  const html = await res.text();
  const field = (n) => html.match(new RegExp(`name="${n}" value="([^"]*)"`))?.[1] ?? '';
  const form = new URLSearchParams({
    csrf_token: field('csrf_token'), login_challenge: field('login_challenge'), method: 'password',
    identifier: `user${user}@example.com`, password: PASSWORD,
  });
  res = await expectStatus(await http(route(`http://127.0.0.1:${nodes[0].ui}/login`, pick()), {
    method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: form.toString(),
  }, jar, 'login post'), [303], 'login post');
  res = await expectStatus(await http(route(res.headers.get('location'), pick()), {}, jar, 'verifier'), [303], 'verifier');
  const code = new URL(res.headers.get('location')).searchParams.get('code');
  if (!code) throw new FlowFailed('no code');
  const body = new URLSearchParams({ grant_type: 'authorization_code', code, redirect_uri: REDIRECT, client_id: 'cluster-app', code_verifier: verifier });
  res = await expectStatus(await http(route(`http://127.0.0.1:${nodes[0].pub}/api/oauth2/token`, pick()), {
    method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: body.toString(),
  }, jar, 'token'), [200], 'token');
  const t = await res.json();
  noteToken('access', t.access_token);
  noteToken('refresh', t.refresh_token);
  const flow = { user, access: t.access_token, refresh: t.refresh_token };
  flows.push(flow);
  counts.flows_ok++;
  return flow;
}

async function refreshFlow(flow) {
  const jar = new Jar();
  const res = await http(route(`http://127.0.0.1:${nodes[0].pub}/api/oauth/refresh`, pick()), {
    method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ refresh_token: flow.refresh }),
  }, jar, 'refresh');
  if (res.status !== 200) {
    await checkError(res, 'refresh');
    return false;
  }
  const t = await res.json();
  noteToken('access', t.access_token);
  noteToken('refresh', t.refresh_token);
  flow.access = t.access_token;
  flow.refresh = t.refresh_token;
  counts.refreshes_ok++;
  return true;
}

async function worker(id, until) {
  let n = 0;
  while (Date.now() < until) {
    try {
      const flow = await loginFlow((id + n++) % USERS);
      for (let r = 0; r < 3 && Date.now() < until; r++) {
        if (!(await refreshFlow(flow))) break;
      }
    } catch (e) {
      if (e instanceof FlowFailed || e instanceof ConnectionLost) counts.flow_failures++;
      else throw e;
      await sleep(50);
    }
  }
}

// ---------------------------------------------------------------- device flow
const DEVICE_GRANT = 'urn:ietf:params:oauth:grant-type:device_code';

/**
 * RFC 8628 across nodes: started on node 0, approved on node 1's /device
 * page, polled on node 2. The pace is shared (a poll on another node right
 * after one is slow_down) and the tokens come once. Returns what failed, or
 * null.
 */
async function deviceFlow() {
  const form = (body) => ({ method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams(body).toString() });
  const jar = new Jar();
  const on = (i, p) => `http://127.0.0.1:${nodes[i].pub}${p}`;
  let res = await http(on(0, '/oauth2/device/auth'), form({ client_id: 'cluster-tv', scope: 'openid offline' }), jar, 'device auth');
  if (res.status !== 200) return `device auth: ${res.status}`;
  const d = await res.json();
  const poll = async (i) => {
    const r = await http(on(i, '/oauth2/token'), form({ grant_type: DEVICE_GRANT, device_code: d.device_code, client_id: 'cluster-tv' }), jar, 'device poll');
    const body = await r.json();
    return r.status === 200 ? body : body.error;
  };
  if ((await poll(2)) !== 'authorization_pending') return 'first poll not pending';
  if ((await poll(0)) !== 'slow_down') return 'a poll on another node at once was not slow_down';
  // The user, on node 1: the code, the login page, back to the question.
  res = await http(route(d.verification_uri_complete, 1), {}, jar, 'device page');
  if (res.status !== 303) return `device page: ${res.status}`;
  const login = route(res.headers.get('location'), 1);
  res = await http(login, {}, jar, 'login page');
  const field = (html, n) => html.match(new RegExp(`name="${n}" value="([^"]*)"`))?.[1] ?? '';
  const back = new URL(login).searchParams.get('return_to');
  res = await http(route(`http://127.0.0.1:${nodes[0].ui}/login`, 1), form({
    csrf_token: field(await res.text(), 'csrf_token'), return_to: back, method: 'password',
    identifier: 'user0@example.com', password: PASSWORD,
  }), jar, 'device login');
  if (res.status !== 303) return `device login: ${res.status}`;
  res = await http(route(res.headers.get('location'), 1), {}, jar, 'device question');
  const html = await res.text();
  res = await http(route(`http://127.0.0.1:${nodes[0].ui}/device`, 1), form({
    csrf_token: field(html, 'csrf_token'), user_code: field(html, 'user_code'), action: 'allow',
  }), jar, 'device answer');
  if (res.status !== 200) return `device answer: ${res.status}`;
  // The slow_down made the interval 10 s.
  await sleep((d.interval + 6) * 1000);
  const tokens = await poll(2);
  if (!tokens.access_token) return `approved poll: ${tokens}`;
  noteToken('access', tokens.access_token);
  noteToken('refresh', tokens.refresh_token);
  if ((await poll(0)) !== 'invalid_grant') return 'a second poll got tokens again';
  return null;
}

// ---------------------------------------------------------------- run
let failed = false;
try {
  psql(`DROP DATABASE IF EXISTS ${DB} WITH (FORCE)`);
  psql(`CREATE DATABASE ${DB}`);
  oneauth(['clients', 'create', '--id', 'cluster-app', '--name', 'Cluster App', '--grant-type', 'authorization_code,refresh_token',
    '--response-type', 'code', '--scope', 'openid,email,offline', '--redirect-uri', REDIRECT,
    '--token-endpoint-auth-method', 'none', '--skip-consent']);
  for (let u = 0; u < USERS; u++) oneauth(['identities', 'create', '--email', `user${u}@example.com`, '--password', PASSWORD]);
  oneauth(['clients', 'create', '--id', 'cluster-tv', '--name', 'Cluster TV', '--grant-type', `${DEVICE_GRANT},refresh_token`,
    '--scope', 'openid,offline', '--token-endpoint-auth-method', 'none']);

  for (let i = 0; i < 3; i++) startNode(i);
  for (let i = 0; i < 3; i++) await waitReady(i);
  console.log(`cluster: 3 nodes up (public ports ${nodes.map((n) => n.pub).join(', ')})`);
  const deviceProblem = await deviceFlow();
  console.log(`cluster: device flow across nodes: ${deviceProblem ?? 'ok'}; load for ${LOAD_MS / 1000} s`);

  const until = Date.now() + LOAD_MS;
  const load = Promise.all([...Array(WORKERS).keys()].map((w) => worker(w, until)));
  const chaos = (async () => {
    await sleep(LOAD_MS * 0.2);
    console.log('cluster: SIGKILL node 2');
    nodes[2].proc.kill('SIGKILL');
    await sleep(LOAD_MS * 0.2);
    console.log('cluster: restart node 2');
    startNode(2);
    await waitReady(2);
    await sleep(LOAD_MS * 0.1);
    // Down for a while, so requests meet the outage (and must answer
    // 5xxx in the documented shape), then back.
    console.log('cluster: stop PostgreSQL');
    pgctl('stop');
    await sleep(LOAD_MS * 0.3);
    console.log('cluster: start PostgreSQL');
    pgctl('start');
  })();
  await Promise.all([load, chaos]);

  // Let every node find the database again, then check what was promised.
  for (let i = 0; i < 3; i++) await waitReady(i);
  let unusable = 0;
  for (const flow of flows) {
    const r = await fetch(`http://127.0.0.1:${nodes[1 + Math.floor(Math.random() * 2)].pub}/oauth/token/verify`, {
      method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ token: flow.access }),
    });
    const v = await r.json();
    if (v.active !== true) unusable++;
  }
  // A revocation made on one node is seen by the others at once.
  let revocationSeen = false;
  const victim = flows.find((f) => f.refresh);
  if (victim) {
    const post = (i, p, body) => fetch(`http://127.0.0.1:${nodes[i].pub}${p}`, {
      method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body),
    });
    await post(1, '/api/oauth/logout', { access_token: victim.access, refresh_token: victim.refresh });
    const v = await (await post(0, '/oauth/token/verify', { token: victim.access })).json();
    const r = await post(2, '/api/oauth/refresh', { refresh_token: victim.refresh });
    revocationSeen = v.active === false && r.status === 400;
    flows.splice(flows.indexOf(victim), 1);
  }
  // A node told to stop finishes and exits by itself, within its bound.
  const exit = new Promise((resolve) => nodes[0].proc.once('exit', (code) => resolve(code)));
  nodes[0].proc.kill('SIGTERM');
  const exitCode = await Promise.race([exit, sleep(12000).then(() => 'timeout')]);
  const families = Number(psql(
    "SELECT count(*) FROM (SELECT grant_id FROM tokens WHERE kind = 'refresh' AND used_at IS NULL AND revoked_at IS NULL GROUP BY grant_id HAVING count(*) > 1) f",
    DB,
  ));
  const summary = {
    ...counts,
    distinct_access_tokens: issued.access.size,
    distinct_refresh_tokens: issued.refresh.size,
    tokens_issued_twice: issued.duplicates,
    flows_checked: flows.length,
    flows_unusable_after: unusable,
    refresh_families_with_two_live_tokens: families,
    revocation_seen_by_other_nodes: revocationSeen,
    device_flow_across_nodes: deviceProblem ?? 'ok',
    sigterm_exit_code: exitCode,
  };
  console.log('cluster: results', JSON.stringify(summary, null, 2));
  if (malformed.length) console.log('cluster: malformed error answers:\n  ' + malformed.join('\n  '));
  const problems = [];
  if (counts.flows_ok < 10) problems.push(`only ${counts.flows_ok} flows succeeded`);
  if (unusable) problems.push(`${unusable} successful flows are not usable`);
  if (issued.duplicates) problems.push(`${issued.duplicates} tokens were issued twice`);
  if (families) problems.push(`${families} refresh families have more than one live token`);
  if (counts.malformed_errors) problems.push(`${counts.malformed_errors} error answers were malformed`);
  if (!revocationSeen) problems.push('a revocation on one node was not seen by the others');
  if (deviceProblem) problems.push(`device flow across nodes: ${deviceProblem}`);
  if (exitCode !== 0) problems.push(`SIGTERM: node exited with ${exitCode}`);
  if (problems.length) {
    failed = true;
    console.log('cluster: FAILED: ' + problems.join('; '));
  } else {
    console.log('cluster: all checks passed');
  }
} catch (e) {
  failed = true;
  console.log('cluster: FAILED:', e);
  for (const [i, n] of nodes.entries()) console.log(`node ${i} stderr tail:\n${n.stderr ?? ''}`);
} finally {
  for (const n of nodes) n.proc?.kill('SIGTERM');
  await sleep(300);
  for (const n of nodes) rmSync(n.dir, { recursive: true, force: true });
}
process.exit(failed ? 1 : 0);
