// The example SPA: @oneauth/web with tokens in memory. `config.json`
// (written by serve.mjs) names the issuer and the client.
import { createOneAuth } from '@oneauth/web';

const config = await (await fetch('/config.json')).json();
const auth = createOneAuth({
  issuer: config.issuer,
  clientId: config.clientId,
  redirectUri: `${location.origin}/callback`,
  scope: 'openid profile email offline',
  ...(config.refreshBeforeExpiryMs ? { refreshBeforeExpiryMs: config.refreshBeforeExpiryMs } : {}),
});

// What happened, for people and for the end-to-end test.
const events = [];
for (const name of ['login', 'logout', 'tokenRefreshed', 'unauthenticated', 'error']) {
  auth.on(name, (detail) => {
    events.push({ name, at: Date.now(), detail: detail instanceof Error ? `${detail.name}: ${detail.message}` : undefined });
    render();
  });
}
window.oneauth = auth;
window.oneauthEvents = events;

const $ = (id) => document.getElementById(id);
function render() {
  const user = auth.user;
  $('status').textContent = user ? `Signed in as ${user.sub}` : 'Signed out';
}

$('login').onclick = () => auth.login();
$('popup').onclick = () => auth.login({ mode: 'popup' }).catch((e) => ($('out').textContent = String(e)));
$('silent').onclick = async () => {
  const r = await auth.silentLogin().catch((e) => ($('out').textContent = String(e)));
  if (r === null) $('out').textContent = 'No OneAuth session';
  render();
};
$('userinfo').onclick = async () => {
  const r = await auth.fetch(`${config.issuer}/userinfo`);
  $('out').textContent = JSON.stringify(await r.json(), null, 2);
};
$('logout').onclick = () => auth.logout({ postLogoutRedirectUri: `${location.origin}/` });

await auth.ready;
if (location.pathname === '/callback') {
  try {
    await auth.handleCallback();
  } catch (e) {
    $('out').textContent = String(e);
  }
  // The code and state leave the address bar and the history.
  history.replaceState(null, '', '/');
}
render();
document.body.dataset.ready = 'true';
