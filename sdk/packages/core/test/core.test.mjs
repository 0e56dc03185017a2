import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { JwksCache, OneAuthError, errorFromBody, errorKind, refreshDelay, verifyJwt } from '../dist/index.js';

const b64url = (v) => Buffer.from(typeof v === 'string' ? v : v).toString('base64url');
const ISSUER = 'https://auth.test';

const ALGS = {
  RS256: { gen: { name: 'RSASSA-PKCS1-v1_5', modulusLength: 2048, publicExponent: new Uint8Array([1, 0, 1]), hash: 'SHA-256' }, sign: { name: 'RSASSA-PKCS1-v1_5' } },
  ES256: { gen: { name: 'ECDSA', namedCurve: 'P-256' }, sign: { name: 'ECDSA', hash: 'SHA-256' } },
  EdDSA: { gen: { name: 'Ed25519' }, sign: { name: 'Ed25519' } },
};

async function keyFor(alg, kid) {
  const { publicKey, privateKey } = await crypto.subtle.generateKey(ALGS[alg].gen, true, ['sign', 'verify']);
  const jwk = { ...(await crypto.subtle.exportKey('jwk', publicKey)), kid, alg, use: 'sig' };
  const sign = async (claims, typ = 'JWT') => {
    const input = `${b64url(JSON.stringify({ alg, kid, typ }))}.${b64url(JSON.stringify(claims))}`;
    const sig = await crypto.subtle.sign(ALGS[alg].sign, privateKey, new TextEncoder().encode(input));
    return `${input}.${b64url(new Uint8Array(sig))}`;
  };
  return { jwk, sign };
}

function jwksServer(keys) {
  const f = async () => {
    f.fetches++;
    return new Response(JSON.stringify({ keys: keys.map((k) => k.jwk) }), { status: 200 });
  };
  f.fetches = 0;
  return f;
}

const claims = (extra = {}) => ({ iss: ISSUER, aud: ['spa'], sub: 'u1', exp: Math.floor(Date.now() / 1000) + 60, ...extra });

describe('verifyJwt', () => {
  for (const alg of Object.keys(ALGS)) {
    test(`${alg} signatures verify; a changed payload does not`, async () => {
      const k = await keyFor(alg, `k-${alg}`);
      const jwks = new JwksCache('https://auth.test/jwks', jwksServer([k]));
      const token = await k.sign(claims());
      assert.equal((await verifyJwt(token, jwks, { issuer: ISSUER, audience: 'spa' })).sub, 'u1');
      const [h, , s] = token.split('.');
      await assert.rejects(verifyJwt(`${h}.${b64url(JSON.stringify(claims({ sub: 'admin' })))}.${s}`, jwks, { issuer: ISSUER }), /signature/);
    });
  }

  test('typ, nbf and alg none are enforced', async () => {
    const k = await keyFor('ES256', 'k1');
    const jwks = new JwksCache('https://auth.test/jwks', jwksServer([k]));
    await assert.rejects(verifyJwt(await k.sign(claims()), jwks, { issuer: ISSUER, typ: 'at+jwt' }), /typ/);
    assert.ok(await verifyJwt(await k.sign(claims(), 'at+jwt'), jwks, { issuer: ISSUER, typ: 'at+jwt' }));
    await assert.rejects(verifyJwt(await k.sign(claims({ nbf: Math.floor(Date.now() / 1000) + 600 })), jwks, { issuer: ISSUER }), /not valid yet/);
    const none = `${b64url(JSON.stringify({ alg: 'none' }))}.${b64url(JSON.stringify(claims()))}.`;
    await assert.rejects(verifyJwt(none, jwks, { issuer: ISSUER }), /Unsupported JWT alg none/);
  });

  test('an unknown kid refetches the JWKS (a rotation), at most once per interval', async (t) => {
    t.mock.timers.enable({ apis: ['Date'], now: 1_000_000 });
    const old = await keyFor('RS256', 'old');
    const rotated = await keyFor('RS256', 'new');
    const keys = [old];
    const fetchJwks = jwksServer(keys);
    const jwks = new JwksCache('https://auth.test/jwks', fetchJwks, 30_000);
    await verifyJwt(await old.sign(claims({ exp: 2_000 })), jwks, { issuer: ISSUER });
    assert.equal(fetchJwks.fetches, 1);
    keys.push(rotated);
    // Within the interval the new kid is not fetched yet.
    await assert.rejects(verifyJwt(await rotated.sign(claims({ exp: 2_000 })), jwks, { issuer: ISSUER }), /No signing key new/);
    assert.equal(fetchJwks.fetches, 1);
    t.mock.timers.tick(30_000);
    await verifyJwt(await rotated.sign(claims({ exp: 2_000 })), jwks, { issuer: ISSUER });
    assert.equal(fetchJwks.fetches, 2);
    for (let i = 0; i < 5; i++) await assert.rejects(verifyJwt(await rotated.sign(claims({ exp: 2_000 })).then((tk) => tk.replace(/^[^.]+/, b64url(JSON.stringify({ alg: 'RS256', kid: 'bogus' })))), jwks, { issuer: ISSUER }));
    assert.equal(fetchJwks.fetches, 2, 'made-up kids do not hammer the issuer');
  });
});

describe('errors', () => {
  test('kinds from the code ranges of docs/errors.md, then the status', () => {
    assert.equal(errorKind(4006, 400), 'request');
    assert.equal(errorKind(2001, 401), 'authentication');
    assert.equal(errorKind(3001, 403), 'permission');
    assert.equal(errorKind(5503, 503), 'server');
    assert.equal(errorKind(undefined, 429), 'rate_limited');
    assert.equal(errorKind(4029, 429), 'rate_limited');
    assert.equal(errorKind(undefined, 401), 'authentication');
    assert.equal(errorKind(undefined, 502), 'server');
  });

  test('errorFromBody keeps error, description, code and status', () => {
    const e = errorFromBody(400, { error: 'invalid_grant', error_description: 'The refresh token is spent.', code: 4007 });
    assert.ok(e instanceof OneAuthError && e instanceof Error);
    assert.deepEqual([e.error, e.message, e.code, e.status, e.kind], ['invalid_grant', 'The refresh token is spent.', 4007, 400, 'request']);
    const bare = errorFromBody(502, null);
    assert.deepEqual([bare.error, bare.message, bare.code, bare.kind], ['http_502', 'HTTP 502', undefined, 'server']);
  });
});

describe('refreshDelay', () => {
  test('the margin ahead of expiry, never earlier than half the remaining life', () => {
    assert.equal(refreshDelay(1_000_000 + 3_600_000, 1_000_000, 60_000), 3_540_000);
    assert.equal(refreshDelay(1_000_000 + 10_000, 1_000_000, 60_000), 5_000);
    assert.equal(refreshDelay(1_000_000 - 5, 1_000_000, 60_000), 0);
    assert.equal(refreshDelay(undefined, 1_000_000, 60_000), undefined);
  });
});
