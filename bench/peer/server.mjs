// The benchmark's peer: node-oidc-provider (npm `oidc-provider`) in one Node
// process with its in-memory adapter, configured like OneAuth's benchmark
// setup: a public PKCE client with refresh-token rotation and consent
// skipped, a confidential client_credentials client (client_secret_basic)
// that may introspect, userinfo, RS256 id_tokens with RS256/ES256/EdDSA keys
// in the JWKS, lifetimes as OneAuth's defaults, and a password login page
// that verifies argon2id at OneAuth's parameters (m=19456 KiB, t=2, p=1).
//
// bench/run copies this file next to its node_modules in a scratch
// directory. Environment: PEER_PORT, PEER_USERS, PEER_PASSWORD,
// PEER_CLIENT_SECRET.

import http from 'node:http';
import crypto from 'node:crypto';
import Provider from 'oidc-provider';
import argon2 from 'argon2';

const PORT = Number(process.env.PEER_PORT ?? 28090);
const ISSUER = `http://127.0.0.1:${PORT}`;
const USERS = Number(process.env.PEER_USERS ?? 16);
const PASSWORD = process.env.PEER_PASSWORD ?? 'correct horse battery staple';
const CLIENT_SECRET = process.env.PEER_CLIENT_SECRET ?? 'bench-service-secret-0123456789';
const ARGON2 = { type: argon2.argon2id, memoryCost: 19456, timeCost: 2, parallelism: 1 };

// Accounts: email -> { id, hash }, hashed once at start.
const accounts = new Map();
for (let i = 0; i < USERS; i++) {
  accounts.set(`user${i}@example.com`, {
    id: crypto.randomUUID(),
    email: `user${i}@example.com`,
    hash: await argon2.hash(PASSWORD, ARGON2),
  });
}
const byId = new Map([...accounts.values()].map((a) => [a.id, a]));
// Unknown identifiers cost one verification too (as in OneAuth).
const dummyHash = await argon2.hash('no such account', ARGON2);

function key(type, options, alg) {
  const { privateKey } = crypto.generateKeyPairSync(type, options);
  return { ...privateKey.export({ format: 'jwk' }), kid: `${alg.toLowerCase()}-1`, alg, use: 'sig' };
}

// In-memory storage. oidc-provider's bundled development adapter keeps
// everything in an LRU capped at 1000 entries (codes minted before the
// exchange load would be evicted) and rescans a grant's members on every
// write; this one has the same interface and semantics, is uncapped, and
// indexes grants with sets, so it never costs the peer more than the
// bundled one does.
const store = new Map(); // key -> { value, expiresAt }
const grants = new Map(); // grantId -> Set of keys
const sessionUids = new Map(); // session uid -> id
const GRANTABLE = new Set(['AccessToken', 'AuthorizationCode', 'RefreshToken', 'DeviceCode',
  'BackchannelAuthenticationRequest']);

function live(key) {
  const e = store.get(key);
  if (!e) return undefined;
  if (e.expiresAt <= Date.now()) {
    store.delete(key);
    return undefined;
  }
  return e.value;
}

class MapAdapter {
  constructor(model) { this.model = model; }

  key(id) { return `${this.model}:${id}`; }

  async upsert(id, payload, expiresIn) {
    const key = this.key(id);
    const expiresAt = typeof expiresIn === 'number' ? Date.now() + expiresIn * 1000 : Infinity;
    if (this.model === 'Session') sessionUids.set(payload.uid, id);
    if (GRANTABLE.has(this.model) && payload.grantId) {
      let members = grants.get(payload.grantId);
      if (!members) grants.set(payload.grantId, (members = new Set()));
      members.add(key);
    }
    store.set(key, { value: payload, expiresAt });
  }

  async find(id) { return live(this.key(id)); }

  async findByUid(uid) {
    const id = sessionUids.get(uid);
    return id === undefined ? undefined : this.find(id);
  }

  async findByUserCode() { return undefined; }

  async consume(id) {
    const payload = live(this.key(id));
    if (payload) payload.consumed = Math.floor(Date.now() / 1000);
  }

  async destroy(id) {
    const key = this.key(id);
    const payload = live(key);
    store.delete(key);
    if (payload?.grantId) grants.get(payload.grantId)?.delete(key);
    if (this.model === 'Session' && payload?.uid) sessionUids.delete(payload.uid);
  }

  async revokeByGrantId(grantId) {
    for (const key of grants.get(grantId) ?? []) store.delete(key);
    grants.delete(grantId);
  }
}

const HOUR = 3600;
const provider = new Provider(ISSUER, {
  adapter: MapAdapter,
  clients: [
    {
      client_id: 'web-app',
      client_name: 'Web App',
      token_endpoint_auth_method: 'none',
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      redirect_uris: ['http://127.0.0.1:3000/callback'],
      // bench/run's BENCH_ID_TOKEN_ALG: the same algorithm OneAuth signs with.
      id_token_signed_response_alg: process.env.PEER_ID_TOKEN_ALG || 'RS256',
    },
    {
      client_id: 'bench-service',
      client_secret: CLIENT_SECRET,
      token_endpoint_auth_method: 'client_secret_basic',
      grant_types: ['client_credentials'],
      response_types: [],
      redirect_uris: [],
    },
  ],
  jwks: {
    keys: [
      key('rsa', { modulusLength: 2048 }, 'RS256'),
      key('ec', { namedCurve: 'P-256' }, 'ES256'),
      key('ed25519', {}, 'EdDSA'),
    ],
  },
  cookies: { keys: [crypto.randomBytes(32).toString('hex')] },
  scopes: ['openid', 'offline_access', 'profile', 'email'],
  claims: { openid: ['sub'], email: ['email', 'email_verified'], profile: ['name'] },
  features: {
    devInteractions: { enabled: false },
    clientCredentials: { enabled: true },
    introspection: { enabled: true },
    revocation: { enabled: true },
    userinfo: { enabled: true },
  },
  // OneAuth's defaults: access 1 h, refresh 30 d, id_token 1 h, code 10 min.
  ttl: {
    AccessToken: HOUR,
    ClientCredentials: HOUR,
    IdToken: HOUR,
    AuthorizationCode: 600,
    RefreshToken: 30 * 24 * HOUR,
    Interaction: 1800,
    Session: 24 * HOUR,
    Grant: 30 * 24 * HOUR,
  },
  // Refresh tokens for the public client (OneAuth issues them on `offline`),
  // rotated on every use.
  issueRefreshToken: async (ctx, client) => client.grantTypeAllowed('refresh_token'),
  rotateRefreshToken: () => true,
  // Consent skipped for the first-party client (OneAuth's --skip-consent).
  async loadExistingGrant(ctx) {
    const grantId = ctx.oidc.result?.consent?.grantId
      || ctx.oidc.session.grantIdFor(ctx.oidc.client.clientId);
    if (grantId) return ctx.oidc.provider.Grant.find(grantId);
    if (ctx.oidc.client.clientId !== 'web-app') return undefined;
    const grant = new ctx.oidc.provider.Grant({
      clientId: ctx.oidc.client.clientId,
      accountId: ctx.oidc.session.accountId,
    });
    grant.addOIDCScope('openid profile email offline_access');
    await grant.save();
    return grant;
  },
  async findAccount(ctx, sub) {
    const a = byId.get(sub);
    if (!a) return undefined;
    return {
      accountId: a.id,
      claims: () => ({ sub: a.id, email: a.email, email_verified: true, name: a.email }),
    };
  },
  interactions: { url: (ctx, interaction) => `/interaction/${interaction.uid}` },
});

const oidc = provider.callback();

function readBody(req) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString()));
    req.on('error', reject);
  });
}

const html = (s) => String(s).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

function loginPage(uid) {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Sign in</title></head>
<body><main><h1>Sign in</h1>
<form method="post" action="/interaction/${html(uid)}/login" novalidate>
<input type="hidden" name="method" value="password">
<label for="identifier">Email</label>
<input id="identifier" name="identifier" type="email" autocomplete="username" required>
<label for="password">Password</label>
<input id="password" name="password" type="password" autocomplete="current-password" required>
<button type="submit">Sign in</button>
</form></main></body></html>`;
}

// The login UI: GET shows the form, POST verifies the password and finishes
// the login interaction (the provider's cookie binds it to this browser).
async function interaction(req, res) {
  const details = await provider.interactionDetails(req, res);
  if (details.prompt.name !== 'login') throw new Error(`unexpected prompt ${details.prompt.name}`);
  if (req.method === 'GET') {
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' });
    res.end(loginPage(details.uid));
    return;
  }
  const form = new URLSearchParams(await readBody(req));
  const account = accounts.get((form.get('identifier') ?? '').trim().toLowerCase());
  const ok = await argon2.verify(account?.hash ?? dummyHash, form.get('password') ?? '');
  if (!ok || !account) {
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    res.end(loginPage(details.uid));
    return;
  }
  await provider.interactionFinished(req, res, { login: { accountId: account.id } }, {
    mergeWithLastSubmission: false,
  });
}

const server = http.createServer((req, res) => {
  if (req.url.startsWith('/interaction/')) {
    interaction(req, res).catch((e) => {
      res.writeHead(400, { 'content-type': 'text/plain' });
      res.end(String(e.message));
    });
    return;
  }
  oidc(req, res);
});
server.keepAliveTimeout = 65_000;
server.listen(PORT, '127.0.0.1', () => {
  console.log(`peer: oidc-provider listening on ${ISSUER}`);
});
