// An in-process stand-in of OneAuth's endpoints for unit tests (the
// end-to-end tests use the real binary): discovery, a JWKS with a real RSA
// key, the token endpoint, refresh with rotation, logout. Counts calls.

const b64url = (bytes) => Buffer.from(bytes).toString('base64url');

export async function fakeIssuer({ issuer = 'https://auth.test', clientId = 'spa', expiresIn = 3600 } = {}) {
  const { publicKey, privateKey } = await crypto.subtle.generateKey(
    { name: 'RSASSA-PKCS1-v1_5', modulusLength: 2048, publicExponent: new Uint8Array([1, 0, 1]), hash: 'SHA-256' },
    true,
    ['sign', 'verify'],
  );
  const jwk = { ...(await crypto.subtle.exportKey('jwk', publicKey)), kid: 'k1', alg: 'RS256', use: 'sig' };
  const sign = async (claims, header = { alg: 'RS256', kid: 'k1', typ: 'JWT' }) => {
    const input = `${b64url(JSON.stringify(header))}.${b64url(JSON.stringify(claims))}`;
    const sig = await crypto.subtle.sign('RSASSA-PKCS1-v1_5', privateKey, new TextEncoder().encode(input));
    return `${input}.${b64url(new Uint8Array(sig))}`;
  };
  const f = {
    issuer,
    clientId,
    expiresIn,
    calls: [],
    nonce: undefined,
    n: 0,
    /** Answer the next refresh with this error body and status. */
    failRefresh: null,
    liveRefresh: new Set(),
    sign,
    async tokens(extraClaims = {}) {
      const n = ++f.n;
      const rt = `rt-${n}`;
      f.liveRefresh.add(rt);
      const now = Math.floor(Date.now() / 1000);
      return {
        access_token: `at-${n}`,
        refresh_token: rt,
        id_token: await sign({ iss: issuer, aud: clientId, sub: 'user-1', iat: now, exp: now + 3600, nonce: f.nonce, ...extraClaims }),
        token_type: 'bearer',
        expires_in: f.expiresIn,
        scope: 'openid offline',
      };
    },
    fetch: async (url, init = {}) => {
      const u = new URL(url);
      const body = typeof init.body === 'string' ? init.body : '';
      f.calls.push({ path: u.pathname, body, headers: new Headers(init.headers), credentials: init.credentials });
      const json = (status, v) => new Response(JSON.stringify(v), { status, headers: { 'content-type': 'application/json' } });
      switch (u.pathname) {
        case '/.well-known/openid-configuration':
          return json(200, { issuer, authorization_endpoint: `${issuer}/oauth2/auth`, jwks_uri: `${issuer}/.well-known/jwks.json` });
        case '/.well-known/jwks.json':
          return json(200, { keys: [jwk] });
        case '/api/oauth2/token':
          return json(200, await f.tokens());
        case '/api/oauth/web/exchange':
          return json(200, await f.tokens({ nonce: undefined }));
        case '/api/oauth/refresh': {
          if (f.failRefresh) return json(f.failRefresh.status, f.failRefresh.body);
          const rt = JSON.parse(body).refresh_token;
          if (!f.liveRefresh.delete(rt)) return json(400, { error: 'invalid_grant', error_description: 'spent', code: 4007 });
          return json(200, await f.tokens());
        }
        case '/api/oauth/logout':
          return json(200, { revoked: true });
        case '/api/data':
          return init.headers && new Headers(init.headers).get('authorization') === `Bearer at-${f.n}`
            ? json(200, { ok: true })
            : json(401, { error: 'invalid_token', error_description: 'expired', code: 2001 });
        default:
          return json(404, { error: 'not_found', error_description: u.pathname, code: 4040 });
      }
    },
    count: (path) => f.calls.filter((c) => c.path === path).length,
  };
  return f;
}

/** Two (or more) tabs: a BroadcastChannel stand-in and one Web Locks manager. */
export function fakeTabs() {
  const channels = [];
  const channel = () => {
    const c = {
      onmessage: null,
      postMessage(m) {
        const data = structuredClone(m);
        for (const o of channels) if (o !== c) queueMicrotask(() => o.onmessage?.({ data }));
      },
      close() {
        channels.splice(channels.indexOf(c), 1);
      },
    };
    channels.push(c);
    return c;
  };
  let tail = Promise.resolve();
  const locks = {
    request(_name, cb) {
      const run = tail.then(() => cb());
      tail = run.catch(() => {});
      return run;
    },
  };
  return { channel, locks };
}

/** A sessionStorage stand-in. */
export function mapStorage() {
  const m = new Map();
  return { get: (k) => m.get(k) ?? null, set: (k, v) => void m.set(k, v), remove: (k) => void m.delete(k), map: m };
}

/** Runs a login through the callback: answers the signed-in client and the issuer. */
export async function signedIn(createOneAuth, f, options = {}) {
  const tx = options.transactionStorage ?? mapStorage();
  let went = null;
  const auth = createOneAuth({
    issuer: f.issuer,
    clientId: f.clientId,
    redirectUri: 'https://app.test/callback',
    fetch: f.fetch,
    transactionStorage: tx,
    locks: null,
    channel: null,
    ...options,
    navigate: (u) => {
      went = u;
      options.navigate?.(u);
    },
  });
  await auth.login();
  const q = new URL(went).searchParams;
  f.nonce = q.get('nonce');
  await auth.handleCallback(`https://app.test/callback?code=c1&state=${q.get('state')}`);
  return auth;
}
