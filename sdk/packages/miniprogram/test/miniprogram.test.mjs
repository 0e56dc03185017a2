// @oneauth/miniprogram in node with an injected `wx` against the real
// oneauth binary, whose WeChat API base points at a stand-in here (as the
// Rust e2e test's): login, storage, refresh before expiry, phone binding,
// logout leaving both tokens inactive, typed errors, and the README's quick
// start as written.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import http from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePorts, makeDataDir, removeDataDir, runCli, startOneAuth, waitFor } from '../../../../tests/browser/helpers.mjs';
import { asModule, quickStart } from '../../../test-support/readme.mjs';
import { OneAuthError, createMiniProgramAuth } from '../dist/index.js';

const PKG = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const APP_ID = 'wxshop0001';
const APP_SECRET = 'wechat-app-secret-0123456789';
const S = { dataDir: null, server: null, wechat: null };

/** WeChat's server API as far as OneAuth uses it: codes are single-use. */
async function startWeChat() {
  const codes = new Map();
  const phoneCodes = new Map();
  const tokens = new Set();
  let n = 0;
  const server = http.createServer(async (req, res) => {
    const u = new URL(req.url, 'http://x');
    let body = '';
    for await (const c of req) body += c;
    const send = (v) => {
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify(v));
    };
    if (u.pathname === '/sns/jscode2session') {
      if (u.searchParams.get('appid') !== APP_ID || u.searchParams.get('secret') !== APP_SECRET) return send({ errcode: 40125, errmsg: 'bad secret' });
      const openid = codes.get(u.searchParams.get('js_code'));
      if (!openid) return send({ errcode: 40029, errmsg: 'invalid code' });
      codes.delete(u.searchParams.get('js_code'));
      return send({ openid, session_key: 'never-leaves' });
    }
    if (u.pathname === '/cgi-bin/stable_token') {
      const t = `APP-TOKEN-${++n}`;
      tokens.add(t);
      return send({ access_token: t, expires_in: 7200 });
    }
    if (u.pathname === '/wxa/business/getuserphonenumber') {
      if (!tokens.has(u.searchParams.get('access_token'))) return send({ errcode: 40001, errmsg: 'bad token' });
      const number = phoneCodes.get(JSON.parse(body).code);
      if (!number) return send({ errcode: 40029, errmsg: 'invalid code' });
      return send({ errcode: 0, errmsg: 'ok', phone_info: { phoneNumber: number, purePhoneNumber: number, countryCode: '86', watermark: { timestamp: 1, appid: APP_ID } } });
    }
    res.statusCode = 404;
    res.end();
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  return {
    base: `http://127.0.0.1:${server.address().port}`,
    loginCode: (openid) => {
      const c = `js-${++n}`;
      codes.set(c, openid);
      return c;
    },
    phoneCode: (number) => {
      const c = `ph-${++n}`;
      phoneCodes.set(c, number);
      return c;
    },
    close: () => new Promise((r) => {
      server.closeAllConnections?.();
      server.close(r);
    }),
  };
}

/** A `wx` for person `openid`: login codes from the stand-in, requests over fetch, a storage map. */
function fakeWx(openid) {
  const storage = new Map();
  return {
    storage,
    login: ({ success }) => setTimeout(() => success({ code: S.wechat.loginCode(openid) }), 0),
    request: ({ url, method, data, header, success, fail }) => {
      fetch(url, { method, headers: header, body: data === undefined ? undefined : JSON.stringify(data) })
        .then(async (r) => success({ statusCode: r.status, data: JSON.parse((await r.text()) || 'null') }))
        .catch((e) => fail({ errMsg: String(e) }));
    },
    setStorageSync: (k, v) => storage.set(k, v),
    getStorageSync: (k) => storage.get(k) ?? '',
    removeStorageSync: (k) => storage.delete(k),
  };
}

const verify = async (token) =>
  (await (await fetch(`${S.server.issuer}/oauth/token/verify`, { method: 'POST', body: JSON.stringify({ token }) })).json()).active;

describe('@oneauth/miniprogram against oneauth and a WeChat stand-in', () => {
  before(
    async () => {
      S.wechat = await startWeChat();
      S.dataDir = await makeDataDir();
      const config = path.join(S.dataDir, 'oneauth.toml');
      await fs.writeFile(config, [
        '[tokens]', 'access_token_ttl_secs = 4', '',
        '[[miniprogram.apps]]', 'kind = "wechat"', 'client_id = "shop-mp"', `app_id = "${APP_ID}"`, `app_secret = "${APP_SECRET}"`, `api_base = "${S.wechat.base}"`, '',
      ].join('\n'));
      await runCli(['--config', config, '--data-dir', S.dataDir, 'clients', 'create', '--id', 'shop-mp', '--name', 'Shop', '--grant-type', 'authorization_code,refresh_token',
        '--response-type', 'code', '--scope', 'openid,profile,phone,offline', '--redirect-uri', 'http://127.0.0.1/cb', '--token-endpoint-auth-method', 'none', '--skip-consent']);
      S.server = await startOneAuth({ dataDir: S.dataDir, ports: await freePorts(3), globalArgs: ['--config', config] });
    },
    { timeout: 40_000 },
  );
  after(async () => {
    await S.server?.stop();
    await S.wechat?.close();
    await removeDataDir(S.dataDir);
  });

  test('login, storage, refresh before expiry, phone binding, logout', { timeout: 30_000 }, async () => {
    const wx = fakeWx('openid-alice');
    // 4 s tokens, refreshed 3 s early: a refresh about a second after login.
    const auth = createMiniProgramAuth({ issuer: S.server.issuer, clientId: 'shop-mp', wx, refreshBeforeExpiryMs: 3000 });
    const seen = [];
    for (const e of ['login', 'tokenRefreshed', 'logout', 'unauthenticated']) auth.on(e, () => seen.push(e));
    const first = await auth.login();
    assert.match(first.accessToken, /^ory_at_/);
    assert.equal(JSON.parse(wx.storage.get('oneauth:tokens:shop-mp')).accessToken, first.accessToken, 'kept with wx.setStorageSync');

    await waitFor('a refresh before expiry', () => seen.includes('tokenRefreshed'), { timeoutMs: 5000 });
    const second = auth.getTokens();
    assert.notEqual(second.refreshToken, first.refreshToken);
    assert.equal(JSON.parse(wx.storage.get('oneauth:tokens:shop-mp')).refreshToken, second.refreshToken);

    // A restart of the mini-program picks the stored tokens up.
    const restarted = createMiniProgramAuth({ issuer: S.server.issuer, clientId: 'shop-mp', wx, refreshBeforeExpiryMs: 3000 });
    assert.equal(restarted.getTokens().accessToken, second.accessToken);
    restarted.close();

    const me = await auth.request({ url: `${S.server.issuer}/userinfo`, method: 'GET' });
    assert.equal(me.status, 200);
    const bound = await auth.bindPhone(S.wechat.phoneCode('13800138000'));
    assert.deepEqual({ ...bound, sub: undefined }, { sub: undefined, phone_number: '+8613800138000', merged: false });
    assert.equal(bound.sub, me.data.sub);

    await assert.rejects(auth.bindPhone('ph-unknown'), (e) => e instanceof OneAuthError && e.status >= 400 && typeof e.code === 'number');

    const last = auth.getTokens();
    await auth.logout();
    assert.equal(wx.storage.size, 0);
    assert.equal(await verify(last.accessToken), false);
    const r = await fetch(`${S.server.issuer}/api/oauth/refresh`, { method: 'POST', body: JSON.stringify({ refresh_token: last.refreshToken }) });
    assert.equal(r.status >= 400, true, 'the refresh token is revoked');
    assert.deepEqual(seen.filter((e) => e !== 'tokenRefreshed'), ['login', 'logout']);
    auth.close();
  });

  test('a used login code is a typed error', async () => {
    const wx = fakeWx('openid-bob');
    const code = S.wechat.loginCode('openid-bob');
    wx.login = ({ success }) => success({ code });
    const auth = createMiniProgramAuth({ issuer: S.server.issuer, clientId: 'shop-mp', wx });
    await auth.login();
    await assert.rejects(auth.login(), (e) => e.kind === 'authentication' && e.code === 2009 && e.error === 'invalid_platform_code');
    auth.close();
  });

  test("the README's quick start runs as written", async () => {
    globalThis.wx = fakeWx('openid-carol');
    const code = (await quickStart(PKG)).replaceAll('https://auth.example.com', S.server.issuer);
    const mod = await asModule(PKG, code);
    try {
      await import(mod.file);
      const stored = JSON.parse(globalThis.wx.storage.get('oneauth:tokens:shop-mp'));
      assert.equal(await verify(stored.accessToken), true);
    } finally {
      await mod.remove();
      delete globalThis.wx;
    }
  });
});
