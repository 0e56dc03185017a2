// A backend-for-frontend with @oneauth/node's createBff: the server runs the
// code flow and keeps the tokens sealed in an httpOnly cookie; the page's
// script never sees a token, it calls this server's /api/profile.
//   node examples/bff/server.mjs --port 3000 --issuer http://127.0.0.1:8080 \
//     --client-id bff --client-secret … --cookie-secret <32+ chars>
// (In an app of your own: `import { createBff } from '@oneauth/node'`.)
import http from 'node:http';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { createBff } from '../../sdk/packages/node/dist/index.js';

const PAGE = `<!doctype html>
<html lang="en"><meta charset="utf-8"><title>OneAuth BFF example</title>
<h1>OneAuth BFF example</h1>
<p id="status">Loading…</p>
<a id="login" href="/auth/login">Sign in</a>
<form method="post" action="/auth/logout"><button id="logout">Sign out</button></form>
<button id="profile">Call /api/profile</button>
<pre id="out"></pre>
<script type="module">
  const me = await fetch('/auth/me');
  document.querySelector('#status').textContent = me.ok ? 'Signed in as ' + (await me.json()).sub : 'Signed out';
  document.querySelector('#profile').onclick = async () => {
    const r = await fetch('/api/profile');
    document.querySelector('#out').textContent = JSON.stringify(await r.json());
  };
  document.body.dataset.ready = 'true';
</script>
</html>`;

/** Starts the example; answers {url, close}. */
export async function startBffExample({ port = 0, issuer, clientId, clientSecret, cookieSecret, refreshBeforeExpiryMs }) {
  let bff;
  const server = http.createServer(async (req, res) => {
    if (await bff.handle(req, res)) return;
    if (req.url === '/api/profile') {
      // The server calls OneAuth (or any API) with the user's token.
      const token = await bff.accessToken(req, res);
      if (!token) {
        res.statusCode = 401;
        return res.end(JSON.stringify({ error: 'login_required' }));
      }
      const r = await fetch(`${issuer}/userinfo`, { headers: { authorization: `Bearer ${token}` } });
      res.setHeader('content-type', 'application/json');
      return res.end(await r.text());
    }
    res.setHeader('content-type', 'text/html; charset=utf-8');
    res.end(PAGE);
  });
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', resolve);
  });
  const url = `http://127.0.0.1:${server.address().port}`;
  bff = createBff({ issuer, clientId, clientSecret, cookieSecret, redirectUri: `${url}/auth/callback`, refreshBeforeExpiryMs });
  return {
    url,
    close: () => new Promise((r) => {
      server.closeAllConnections?.();
      server.close(r);
    }),
  };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { values: v } = parseArgs({
    options: { port: { type: 'string', default: '3000' }, issuer: { type: 'string' }, 'client-id': { type: 'string' }, 'client-secret': { type: 'string' }, 'cookie-secret': { type: 'string' } },
  });
  const app = await startBffExample({ port: Number(v.port), issuer: v.issuer, clientId: v['client-id'], clientSecret: v['client-secret'], cookieSecret: v['cookie-secret'] });
  console.log(`BFF example on ${app.url} (register ${app.url}/auth/callback as the client's redirect URI)`);
}
