// What a browser-based Mastodon client does to sign in and call the API, cross-origin (CORS):
// register an app, PKCE, open the authorize page in a popup or go there, get the code back at
// callback.html, exchange it at /oauth/token, then call the API with the token.
// The outcome is window.result (tests/test_browser.py reads it).
const REDIRECT = `${location.origin}/callback.html`;
const SCOPES = "read write";

const b64url = (bytes) => btoa(String.fromCharCode(...bytes)).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");

async function prepare(api) {
  const registered = await fetch(`${api}/api/v1/apps`, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ client_name: "web client", redirect_uris: REDIRECT, scopes: SCOPES }),
  });
  if (!registered.ok) throw new Error(`apps: ${registered.status}`);
  const app = await registered.json();
  const verifier = b64url(crypto.getRandomValues(new Uint8Array(32)));
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(verifier));
  const state = b64url(crypto.getRandomValues(new Uint8Array(16)));
  sessionStorage.setItem("flow", JSON.stringify({ api, app, verifier, state }));
  const query = new URLSearchParams({
    response_type: "code",
    client_id: app.client_id,
    redirect_uri: REDIRECT,
    scope: SCOPES,
    state,
    code_challenge: b64url(new Uint8Array(digest)),
    code_challenge_method: "S256",
  });
  return `${api}/oauth/authorize?${query}`;
}

async function finish(search, how) {
  const flow = JSON.parse(sessionStorage.getItem("flow"));
  const back = new URLSearchParams(search);
  if (back.get("state") !== flow.state) throw new Error(`state: ${back.get("state")}`);
  const exchanged = await fetch(`${flow.api}/oauth/token`, {
    method: "POST",
    body: new URLSearchParams({
      grant_type: "authorization_code",
      code: back.get("code"),
      client_id: flow.app.client_id,
      client_secret: flow.app.client_secret,
      redirect_uri: REDIRECT,
      code_verifier: flow.verifier,
    }),
  });
  if (!exchanged.ok) throw new Error(`token: ${exchanged.status} ${await exchanged.text()}`);
  const token = (await exchanged.json()).access_token;
  const auth = { Authorization: `Bearer ${token}` };
  const me = await (await fetch(`${flow.api}/api/v1/accounts/verify_credentials`, { headers: auth })).json();
  const posted = await fetch(`${flow.api}/api/v1/statuses`, {
    method: "POST",
    headers: { ...auth, "Content-Type": "application/json", "Idempotency-Key": flow.state },
    body: JSON.stringify({ status: `signed in by ${how} #browser` }),
  });
  const status = await posted.json();
  await fetch(`${flow.api}/api/v1/statuses`, {
    method: "POST",
    headers: { ...auth, "Content-Type": "application/json" },
    body: JSON.stringify({ status: "and another" }),
  });
  const page = await fetch(`${flow.api}/api/v1/timelines/home?limit=1`, { headers: auth });
  const revoked = await fetch(`${flow.api}/oauth/revoke`, {
    method: "POST",
    body: new URLSearchParams({ client_id: flow.app.client_id, client_secret: flow.app.client_secret, token }),
  });
  const after = await fetch(`${flow.api}/api/v1/accounts/verify_credentials`, { headers: auth });
  return {
    how,
    username: me.username,
    posted: posted.status,
    url: status.url,
    link: page.headers.get("Link"),
    revoked: revoked.status,
    after: after.status,
  };
}

function report(promise) {
  promise.then(
    (result) => (window.result = result),
    (error) => (window.result = { error: String(error) }),
  );
}

if (location.pathname.endsWith("/callback.html")) {
  if (window.opener) {
    // The popup: the code goes back to the client's page, which finishes.
    window.opener.postMessage(location.search, location.origin);
    window.close();
  } else {
    report(finish(location.search, "redirect"));
  }
} else {
  const api = new URLSearchParams(location.search).get("api");
  prepare(api).then(
    (url) => {
      window.addEventListener("message", (event) => {
        if (event.origin === location.origin) report(finish(event.data, "popup"));
      });
      document.getElementById("popup").onclick = () => window.open(url, "authorize", "width=480,height=640");
      document.getElementById("redirect").onclick = () => location.assign(url);
      for (const button of document.querySelectorAll("button")) button.disabled = false;
    },
    (error) => (window.result = { error: String(error) }),
  );
}
