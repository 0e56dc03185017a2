// @oneauth/node against the real oneauth binary: opaque and JWT access
// tokens (client_credentials), a revoked opaque token refused within the
// cache window, the JWKS cache and its rate-limited refetch, RFC 6750
// answers of the middleware (node:http and Express-style), and the README's
// quick start run as written.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import http from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePorts, makeDataDir, removeDataDir, runCli, sleep, startOneAuth, waitFor } from '../../../../tests/browser/helpers.mjs';
import { asModule, quickStart } from '../../../test-support/readme.mjs';
import { TokenVerifier, requireAuth } from '../dist/index.js';

const PKG = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const SECRET = 'api-secret-0123456789abcdef';
const S = { dataDir: null, server: null };

async function clientToken(clientId, scope) {
  const r = await fetch(`${S.server.issuer}/oauth2/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: `Basic ${Buffer.from(`${clientId}:${SECRET}`).toString('base64')}` },
    body: new URLSearchParams({ grant_type: 'client_credentials', scope }),
  });
  const body = await r.json();
  assert.equal(r.status, 200, JSON.stringify(body));
  return body.access_token;
}

async function revoke(clientId, token) {
  const r = await fetch(`${S.server.issuer}/oauth2/revoke`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: `Basic ${Buffer.from(`${clientId}:${SECRET}`).toString('base64')}` },
    body: new URLSearchParams({ token }),
  });
  assert.equal(r.status, 200);
}

/** A fetch that counts calls per path. */
function countingFetch() {
  const counts = {};
  const f = (url, init) => {
    const p = new URL(url).pathname;
    counts[p] = (counts[p] ?? 0) + 1;
    return fetch(url, init);
  };
  return { f, counts };
}

async function listen(handler) {
  const server = http.createServer(handler);
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${server.address().port}`, close: () => new Promise((r) => server.close(r)) };
}

describe('@oneauth/node against oneauth', () => {
  before(
    async () => {
      const ports = await freePorts(3);
      S.dataDir = await makeDataDir();
      for (const [id, strategy] of [['api-opaque', 'opaque'], ['api-jwt', 'jwt']]) {
        await runCli(['--data-dir', S.dataDir, 'clients', 'create', '--id', id, '--name', id, '--grant-type', 'client_credentials',
          '--scope', 'read,write', '--secret', SECRET, '--token-endpoint-auth-method', 'client_secret_basic', '--access-token-strategy', strategy]);
      }
      S.server = await startOneAuth({ dataDir: S.dataDir, ports });
    },
    { timeout: 40_000 },
  );
  after(async () => {
    await S.server?.stop();
    await removeDataDir(S.dataDir);
  });

  test('an opaque token is checked at /oauth/token/verify and cached briefly', async () => {
    const { f, counts } = countingFetch();
    const v = new TokenVerifier({ issuer: S.server.issuer, fetch: f });
    const token = await clientToken('api-opaque', 'read');
    assert.match(token, /^ory_at_/);
    const info = await v.verify(token);
    assert.equal(info.format, 'opaque');
    assert.equal(info.sub, 'api-opaque');
    assert.equal(info.clientId, 'api-opaque');
    assert.deepEqual(info.scopes, ['read']);
    await v.verify(token);
    assert.equal(counts['/oauth/token/verify'], 1, 'the second check came from the cache');
    await assert.rejects(v.verify('ory_at_not-a-token'), (e) => e.error === 'invalid_token' && e.kind === 'authentication');
  });

  test('a revoked opaque token is refused within the cache window', async () => {
    const windowMs = 1500;
    const v = new TokenVerifier({ issuer: S.server.issuer, opaqueCacheMs: windowMs });
    const token = await clientToken('api-opaque', 'read');
    await v.verify(token);
    await revoke('api-opaque', token);
    const revokedAt = Date.now();
    await waitFor('the revoked token refused', () => v.verify(token).then(() => false, (e) => e.error === 'invalid_token'), { timeoutMs: windowMs + 1000, intervalMs: 100 });
    assert.ok(Date.now() - revokedAt <= windowMs + 300, `refused after ${Date.now() - revokedAt} ms`);
    // With no cache, at once.
    const t2 = await clientToken('api-opaque', 'read');
    const strict = new TokenVerifier({ issuer: S.server.issuer, opaqueCacheMs: 0 });
    await strict.verify(t2);
    await revoke('api-opaque', t2);
    await assert.rejects(strict.verify(t2), /not active/);
  });

  test('a JWT access token is verified locally against the cached JWKS', async () => {
    const { f, counts } = countingFetch();
    const v = new TokenVerifier({ issuer: S.server.issuer, fetch: f, audience: 'api-jwt' });
    const token = await clientToken('api-jwt', 'read write');
    assert.equal(token.split('.').length, 3);
    const info = await v.verify(token);
    assert.equal(info.format, 'jwt');
    assert.equal(info.sub, 'api-jwt');
    assert.deepEqual(info.scopes, ['read', 'write']);
    await v.verify(await clientToken('api-jwt', 'read'));
    assert.deepEqual(counts, { '/.well-known/jwks.json': 1 }, 'one JWKS fetch, no verify calls');

    // Tampered claims: the signature fails.
    const [h, p, s] = token.split('.');
    const claims = JSON.parse(Buffer.from(p, 'base64url'));
    const forged = `${h}.${Buffer.from(JSON.stringify({ ...claims, scope: 'read write admin' })).toString('base64url')}.${s}`;
    await assert.rejects(v.verify(forged), /signature/);

    // Another audience is refused.
    const other = new TokenVerifier({ issuer: S.server.issuer, audience: 'someone-else' });
    await assert.rejects(other.verify(token), /another client/);

    // Unknown kids refetch the JWKS, at most once per jwksRefetchMs.
    const header = JSON.parse(Buffer.from(h, 'base64url'));
    const unknownKid = `${Buffer.from(JSON.stringify({ ...header, kid: 'no-such-key' })).toString('base64url')}.${p}.${s}`;
    const limited = countingFetch();
    const lv = new TokenVerifier({ issuer: S.server.issuer, fetch: limited.f, jwksRefetchMs: 60_000 });
    await lv.verify(token);
    for (let i = 0; i < 5; i++) await assert.rejects(lv.verify(unknownKid), /No signing key/);
    assert.equal(limited.counts['/.well-known/jwks.json'], 1, 'no refetch storm (the first fetch is recent)');
    const eager = countingFetch();
    const ev = new TokenVerifier({ issuer: S.server.issuer, fetch: eager.f, jwksRefetchMs: 0 });
    await ev.verify(token);
    await assert.rejects(ev.verify(unknownKid));
    assert.equal(eager.counts['/.well-known/jwks.json'], 2, 'an unknown kid refetches once the interval allows');
  });

  test('requireAuth answers as RFC 6750 says (node:http and Express-style)', async () => {
    const verifier = new TokenVerifier({ issuer: S.server.issuer });
    const api = await listen(requireAuth({ verifier, scope: 'read', realm: 'api' }, (req, res) => res.end(JSON.stringify({ sub: req.auth.sub }))));
    const admin = await listen(requireAuth({ verifier, scope: 'admin' }, (_req, res) => res.end('{}')));
    try {
      const call = (url, token) => fetch(url, { headers: token ? { authorization: `Bearer ${token}` } : {} });
      let r = await call(api.url);
      assert.equal(r.status, 401);
      assert.equal(r.headers.get('www-authenticate'), 'Bearer realm="api"');
      r = await call(api.url, 'ory_at_bogus');
      assert.equal(r.status, 401);
      assert.match(r.headers.get('www-authenticate'), /^Bearer realm="api", error="invalid_token", error_description="[^"]+"$/);
      for (const token of [await clientToken('api-opaque', 'read'), await clientToken('api-jwt', 'read')]) {
        r = await call(api.url, token);
        assert.equal(r.status, 200);
        assert.match((await r.json()).sub, /^api-/);
        r = await call(admin.url, token);
        assert.equal(r.status, 403);
        assert.match(r.headers.get('www-authenticate'), /error="insufficient_scope".*scope="admin"/);
      }
    } finally {
      await api.close();
      await admin.close();
    }

    // Express-style: next() on success; an unreachable OneAuth goes to next(err).
    const mw = requireAuth({ verifier, scope: 'read' });
    const req = { headers: { authorization: `Bearer ${await clientToken('api-jwt', 'read')}` } };
    let nexted = null;
    await mw(req, {}, (err) => (nexted = err ?? 'ok'));
    assert.equal(nexted, 'ok');
    assert.equal(req.auth.sub, 'api-jwt');
    const down = requireAuth({ issuer: 'http://127.0.0.1:9', opaqueCacheMs: 0 });
    await down({ headers: { authorization: 'Bearer ory_at_x' } }, {}, (err) => (nexted = err));
    assert.equal(nexted.kind, 'network');
  });

  test("the README's quick start runs as written", async () => {
    const [port] = await freePorts(1);
    const mod = await asModule(PKG, await quickStart(PKG));
    const child = spawn(process.execPath, [mod.file], { env: { ...process.env, ONEAUTH_ISSUER: S.server.issuer, PORT: String(port) }, stdio: ['ignore', 'inherit', 'inherit'] });
    try {
      const url = `http://127.0.0.1:${port}/`;
      await waitFor('the quick start listening', () => fetch(url).then(() => true, () => false));
      assert.equal((await fetch(url)).status, 401);
      const r = await fetch(url, { headers: { authorization: `Bearer ${await clientToken('api-opaque', 'read')}` } });
      assert.equal(r.status, 200);
      assert.deepEqual(await r.json(), { hello: 'api-opaque', scopes: ['read'] });
    } finally {
      child.kill();
      await mod.remove();
      await sleep(50);
    }
  });
});
