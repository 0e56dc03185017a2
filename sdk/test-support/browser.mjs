// Steps the SDKs' browser tests share: OneAuth's login page, the logout
// round trip, and introspection to see whether a token still lives.
import { waitFor } from '../../tests/browser/helpers.mjs';

const STEP = 10_000;

/** On OneAuth's login page (reached by clicking `button`): signs in; the page then lands on `landsOn` (a URL glob). */
export async function signInAtOneAuth(page, { button = '#login', email, password, landsOn }) {
  await Promise.all([page.waitForURL(/\/login\?/, { timeout: STEP }), page.click(button)]);
  await page.fill('#identifier', email);
  await page.fill('#password', password);
  await Promise.all([page.waitForURL(landsOn, { timeout: STEP }), page.click('button[name=step][value=login]')]);
}

/** Clicks `button` and waits for /api/auth/logout and the navigation back to `backTo` (events from watchPage). */
export async function logoutRoundTrip(page, events, backTo, button = '#logout') {
  const from = events.length;
  await page.click(button);
  await waitFor('the logout round trip', () => {
    const seen = events.slice(from);
    const i = seen.findIndex((e) => e.includes('/api/auth/logout?'));
    return i >= 0 && seen.slice(i).includes(`navigated: ${backTo}`);
  });
  return events.slice(from);
}

/** RFC 7662 introspection by confidential client `clientId`: is the token active? */
export async function isActive(issuer, clientId, secret, token) {
  const r = await fetch(`${issuer}/oauth2/introspect`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: `Basic ${Buffer.from(`${clientId}:${secret}`).toString('base64')}` },
    body: new URLSearchParams({ token }),
  });
  if (r.status !== 200) throw new Error(`introspection -> ${r.status}: ${await r.text()}`);
  return (await r.json()).active;
}
