// Passkeys (WebAuthn) on the built-in pages, through the identity JSON API
// on the public listener (cross-origin with the session cookie: the UI's
// origin is first-party there). WebAuthn itself needs JavaScript; the pages
// say so in a <noscript>. No inline script: CSP is script-src 'self'.
//
// 1. Signing in with a passkey (the login page; the second-factor page
//    reuses it). An element with
//      data-passkey-options="<url>"  POSTed (JSON, with the cookie): answers
//                                    {ceremony_id, options}
//      data-passkey-finish="<url>"   POSTed {ceremony_id, credential, …}:
//                                    answers {redirect_to?}
//    and optionally
//      data-passkey-body='<JSON>'    more fields for the finish
//                                    (e.g. {"login_challenge": "…"})
//      data-passkey-done="<url>"     where to go when the answer has no
//                                    redirect_to
//      data-passkey-conditional      also offer passkeys in the autofill of
//                                    the input with autocomplete="… webauthn"
//                                    (conditional mediation), from page load
//    A <button data-passkey-start> inside it starts navigator.credentials.get()
//    with the options, finishes and navigates. Failures are shown in its
//    [data-passkey-error] element, in the page's language: the texts are its
//    data-msg-failed and data-msg-unsupported attributes.
//
// 2. The settings page: a [data-passkey-settings="<API origin>"] section with
//    a form[data-passkey-register] (a `name` input) to add a passkey,
//    form[data-passkey-rename="<id>"] (a `name` input) and
//    button[data-passkey-remove="<id>"]; after each change the page reloads
//    with ?saved=…; failures go to its [data-passkey-error]
//    (data-msg-failed, data-msg-reauth for 401 reauthentication_required).
(function () {
  'use strict';

  function b64uToBytes(s) {
    var b = atob(s.replace(/-/g, '+').replace(/_/g, '/') + '==='.slice((s.length + 3) % 4));
    var out = new Uint8Array(b.length);
    for (var i = 0; i < b.length; i++) out[i] = b.charCodeAt(i);
    return out.buffer;
  }

  function bytesToB64u(buf) {
    var bytes = new Uint8Array(buf);
    var s = '';
    for (var i = 0; i < bytes.length; i++) s += String.fromCharCode(bytes[i]);
    return btoa(s).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
  }

  // WebAuthn's JSON options (binary fields base64url) as the browser API
  // wants them (ArrayBuffers).
  function decodeOptions(pk) {
    pk.challenge = b64uToBytes(pk.challenge);
    if (pk.user) pk.user.id = b64uToBytes(pk.user.id);
    ['excludeCredentials', 'allowCredentials'].forEach(function (k) {
      (pk[k] || []).forEach(function (c) { c.id = b64uToBytes(c.id); });
    });
    return pk;
  }

  function credentialJson(cred) {
    var r = cred.response;
    var response = { clientDataJSON: bytesToB64u(r.clientDataJSON) };
    if (r.attestationObject) {
      response.attestationObject = bytesToB64u(r.attestationObject);
      if (r.getTransports) response.transports = r.getTransports();
    } else {
      response.authenticatorData = bytesToB64u(r.authenticatorData);
      response.signature = bytesToB64u(r.signature);
      if (r.userHandle) response.userHandle = bytesToB64u(r.userHandle);
    }
    return {
      id: cred.id,
      rawId: bytesToB64u(cred.rawId),
      type: cred.type,
      response: response,
      extensions: cred.getClientExtensionResults ? cred.getClientExtensionResults() : {},
    };
  }

  // A JSON call with the session cookie; rejects with the error body.
  function call(method, url, body) {
    var init = { method: method, credentials: 'include', headers: {} };
    if (body !== undefined) {
      init.headers['Content-Type'] = 'application/json';
      init.body = JSON.stringify(body);
    }
    return fetch(url, init).then(function (res) {
      return res.text().then(function (text) {
        var json = text ? JSON.parse(text) : {};
        if (!res.ok) throw { api: json, status: res.status };
        return json;
      });
    });
  }

  function show(el, text) {
    var box = el.querySelector('[data-passkey-error]');
    if (!box) return;
    box.textContent = text;
    box.hidden = false;
  }

  function supported() {
    return !!(window.PublicKeyCredential && navigator.credentials);
  }

  // 1. Sign-in.
  function signIn(el) {
    var options = el.getAttribute('data-passkey-options');
    var finish = el.getAttribute('data-passkey-finish');
    var extra = JSON.parse(el.getAttribute('data-passkey-body') || '{}');
    var done = el.getAttribute('data-passkey-done');
    var failed = el.getAttribute('data-msg-failed');
    var pending = null; // the conditional request, aborted by a button press

    function run(conditional) {
      var abort = new AbortController();
      return call('POST', options, {}).then(function (c) {
        var req = { publicKey: decodeOptions(c.options.publicKey), signal: abort.signal };
        if (conditional) req.mediation = 'conditional';
        if (conditional) pending = abort;
        return navigator.credentials.get(req).then(function (cred) {
          var body = Object.assign({}, extra, { ceremony_id: c.ceremony_id, credential: credentialJson(cred) });
          return call('POST', finish, body);
        });
      }).then(function (answer) {
        window.location.assign(answer.redirect_to || done || window.location.href);
      });
    }

    if (!supported()) {
      show(el, el.getAttribute('data-msg-unsupported'));
      el.querySelectorAll('[data-passkey-start]').forEach(function (b) { b.disabled = true; });
      return;
    }
    el.querySelectorAll('[data-passkey-start]').forEach(function (button) {
      button.addEventListener('click', function () {
        if (pending) pending.abort();
        pending = null;
        button.disabled = true;
        run(false).catch(function () {
          show(el, failed);
          button.disabled = false;
        });
      });
    });
    if (el.hasAttribute('data-passkey-conditional') && PublicKeyCredential.isConditionalMediationAvailable) {
      PublicKeyCredential.isConditionalMediationAvailable().then(function (yes) {
        // A conditional request ends quietly when aborted or dismissed.
        if (yes) run(true).catch(function () {});
      });
    }
  }

  // 2. Settings.
  function settings(el) {
    var api = el.getAttribute('data-passkey-settings') + '/api/identity/passkeys';
    function fail(e) {
      var reauth = e && e.api && e.api.error === 'reauthentication_required';
      show(el, el.getAttribute(reauth ? 'data-msg-reauth' : 'data-msg-failed'));
    }
    function reload(saved) {
      window.location.assign('/settings?saved=' + saved);
    }
    var register = el.querySelector('form[data-passkey-register]');
    if (register) {
      register.addEventListener('submit', function (ev) {
        ev.preventDefault();
        if (!supported()) return show(el, el.getAttribute('data-msg-unsupported'));
        var name = register.elements.name.value;
        var button = register.querySelector('button');
        button.disabled = true;
        call('POST', api + '/registration/options').then(function (c) {
          return navigator.credentials.create({ publicKey: decodeOptions(c.options.publicKey) }).then(function (cred) {
            return call('POST', api + '/registration', { ceremony_id: c.ceremony_id, name: name, credential: credentialJson(cred) });
          });
        }).then(function () { reload('passkey'); }, function (e) {
          button.disabled = false;
          fail(e);
        });
      });
    }
    el.querySelectorAll('form[data-passkey-rename]').forEach(function (form) {
      form.addEventListener('submit', function (ev) {
        ev.preventDefault();
        var id = encodeURIComponent(form.getAttribute('data-passkey-rename'));
        call('PATCH', api + '/' + id, { name: form.elements.name.value }).then(function () { reload('passkey_renamed'); }, fail);
      });
    });
    el.querySelectorAll('button[data-passkey-remove]').forEach(function (button) {
      button.addEventListener('click', function () {
        var id = encodeURIComponent(button.getAttribute('data-passkey-remove'));
        call('DELETE', api + '/' + id).then(function () { reload('passkey_removed'); }, fail);
      });
    });
  }

  document.querySelectorAll('[data-passkey-options][data-passkey-finish]').forEach(signIn);
  document.querySelectorAll('[data-passkey-settings]').forEach(settings);
})();
