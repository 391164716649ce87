// The journey of a JavaScript client, masto.js (npm `masto`), against a live minitwitter:
// register an app, log in by posting the authorize form (as a program would: fetch the page,
// read its form, post it; PKCE), post, reply, favourite, boost, follow, home timeline,
// notifications, paging next and prev, delete, revoke.
//
// Run by tests/test_masto_js.py, and by .ci/cluster through `make cluster`'s haproxy:
// `node journey.mjs` with BASE (the server) and, optionally, two accounts that exist, ALICE
// and BOB (username), PASSWORD; without them it signs up two of its own through the native
// API, with names unique to the run. Exits non-zero on the first failed check; prints one
// JSON line of what it made, for the test to check on the native side.
import assert from "node:assert/strict";
import { createHash, randomBytes } from "node:crypto";
import { createOAuthAPIClient, createRestAPIClient } from "masto";

const BASE = process.env.BASE;
const PASSWORD = process.env.PASSWORD || "journey-password-1";
const RUN = randomBytes(4).toString("hex");
const TAG = `nodejs${RUN}`;
// A 2x2 PNG, the image a status is posted with.
const PNG = Buffer.from(
  "iVBORw0KGgoAAAANSUhEUgAAAAIAAAACCAIAAAD91JpzAAAAEElEQVR4nGP4z8AARAwQCgAf7gP9i18U1AAAAABJRU5ErkJggg==",
  "base64",
);

/** An account made through the native API (when ALICE and BOB are not given): its username. */
async function signUp(username) {
  const made = await fetch(`${BASE}/api/users/`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ email: `${username}@example.com`, username, password: PASSWORD }),
  });
  assert.equal(made.status, 201, await made.text());
  return username;
}
const ALICE = process.env.ALICE || (await signUp(`mja${RUN}`));
const BOB = process.env.BOB || (await signUp(`mjb${RUN}`));
const REDIRECT = "https://client.example/callback"; // read from the Location, never followed
const SCOPES = "read write follow push";

const ENTITIES = { "&amp;": "&", "&lt;": "<", "&gt;": ">", "&quot;": '"', "&#x27;": "'", "&#39;": "'" };
const unescape = (text) => text.replace(/&(?:amp|lt|gt|quot|#x27|#39);/g, (entity) => ENTITIES[entity]);

/** The fields of a page's one form: {action, fields: {name: value}} (inputs with a value). */
function readForm(html) {
  const forms = [...html.matchAll(/<form [^>]*action="([^"]*)"[^>]*>([\s\S]*?)<\/form>/g)];
  assert.equal(forms.length, 1, `one form on the page: ${html}`);
  const fields = {};
  for (const [tag] of forms[0][2].matchAll(/<input [^>]*>/g)) {
    const name = tag.match(/ name="([^"]*)"/);
    const value = tag.match(/ value="([^"]*)"/);
    if (name) fields[unescape(name[1])] = value ? unescape(value[1]) : "";
  }
  return { action: new URL(unescape(forms[0][1]), BASE).href, fields };
}

function cookiesOf(response, jar) {
  for (const cookie of response.headers.getSetCookie()) {
    const [pair] = cookie.split(";");
    const at = pair.indexOf("=");
    jar.set(pair.slice(0, at), pair.slice(at + 1));
  }
  return [...jar].map(([name, value]) => `${name}=${value}`).join("; ");
}

/** A person logging in and approving, done by a program: the authorization code. */
async function authorize(app, login, verifier) {
  const challenge = createHash("sha256").update(verifier).digest("base64url");
  const query = new URLSearchParams({
    response_type: "code",
    client_id: app.clientId,
    redirect_uri: REDIRECT,
    scope: SCOPES,
    state: "js & <state>",
    code_challenge: challenge,
    code_challenge_method: "S256",
  });
  const jar = new Map();
  let page = await fetch(`${BASE}/oauth/authorize?${query}`);
  assert.equal(page.status, 200);
  let cookie = cookiesOf(page, jar);
  let form = readForm(await page.text());
  const post = (fields) =>
    fetch(form.action, {
      method: "POST",
      headers: { cookie, "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams(fields),
      redirect: "manual",
    });
  page = await post({ ...form.fields, login, password: PASSWORD });
  assert.equal(page.status, 200, "the approve page");
  cookie = cookiesOf(page, jar);
  form = readForm(await page.text());
  const answer = await post({ ...form.fields, decision: "approve" });
  assert.equal(answer.status, 302);
  const location = new URL(answer.headers.get("location"));
  assert.equal(`${location.origin}${location.pathname}`, REDIRECT);
  assert.equal(location.searchParams.get("state"), "js & <state>");
  return location.searchParams.get("code");
}

async function signIn(oauth, app, login) {
  const verifier = randomBytes(48).toString("base64url");
  const code = await authorize(app, login, verifier);
  const token = await oauth.token.create({
    grantType: "authorization_code",
    clientId: app.clientId,
    clientSecret: app.clientSecret,
    redirectUri: REDIRECT,
    code,
    codeVerifier: verifier, // snake_cased by masto: code_verifier
    scope: SCOPES,
  });
  assert.equal(token.tokenType, "Bearer");
  assert.equal(token.scope, SCOPES);
  return token.accessToken;
}

async function rejects(promise, status) {
  await assert.rejects(promise, (error) => {
    assert.equal(error.statusCode, status, String(error));
    return true;
  });
}

const anonymous = createRestAPIClient({ url: BASE });
const instance = await anonymous.v2.instance.fetch();
assert.match(instance.version, /^4\.3\.0 \(compatible; minitwitter /);
assert.equal(instance.configuration.statuses.maxCharacters, 280);

const app = await anonymous.v1.apps.create({
  clientName: "masto.js journey",
  redirectUris: REDIRECT,
  scopes: SCOPES,
  website: "https://client.example",
});
assert.ok(app.clientId && app.clientSecret);
const oauth = createOAuthAPIClient({ url: BASE });
const aliceToken = await signIn(oauth, app, ALICE);
const alice = createRestAPIClient({ url: BASE, accessToken: aliceToken });
const bob = createRestAPIClient({ url: BASE, accessToken: await signIn(oauth, app, BOB) });

const me = await alice.v1.accounts.verifyCredentials();
assert.equal(me.username, ALICE);
assert.equal(me.source.privacy, "public");
const them = await bob.v1.accounts.verifyCredentials();

// Follow, post, reply, favourite, boost.
const followed = await bob.v1.accounts.$select(me.id).follow();
assert.equal(followed.following, true);
const [relationship] = await bob.v1.accounts.relationships.fetch({ id: [me.id] });
assert.equal(relationship.following, true);

const media = await alice.v2.media.create({
  file: new Blob([PNG], { type: "image/png" }),
  description: "A red square",
});
assert.equal(media.type, "image");
assert.equal(media.meta.original.width, 2);
const status = await alice.v1.statuses.create({
  status: `Hello from masto.js #${TAG} & friends`,
  mediaIds: [media.id],
});
assert.equal(status.account.id, me.id);
assert.match(status.content, /&amp; friends/);
assert.deepEqual(
  status.tags.map((tag) => tag.name),
  [TAG],
);
assert.equal(status.mediaAttachments[0].id, media.id);
const image = await fetch(status.mediaAttachments[0].url);
assert.equal(image.status, 200);
assert.equal(Buffer.from(await image.arrayBuffer())[1], 0x50, "a PNG served back"); // "P" of \x89PNG
assert.equal(status.url, `${BASE}/@${me.username}/${status.id}`);
const reply = await bob.v1.statuses.create({ status: `@${me.username} hi from node`, inReplyToId: status.id });
assert.equal(reply.inReplyToId, status.id);
assert.equal(reply.inReplyToAccountId, me.id);
assert.equal((await bob.v1.statuses.$select(status.id).favourite()).favourited, true);
const boost = await bob.v1.statuses.$select(status.id).reblog();
assert.equal(boost.reblog.id, status.id);
assert.equal(boost.account.id, them.id);
const seen = await bob.v1.statuses.$select(status.id).fetch();
assert.deepEqual([seen.favouritesCount, seen.reblogsCount, seen.repliesCount], [1, 1, 1]);
assert.ok(seen.favourited && seen.reblogged);
const context = await alice.v1.statuses.$select(status.id).context.fetch();
assert.deepEqual(
  context.descendants.map((s) => s.id),
  [reply.id],
);

// Bob's home: his own statuses (his boost too) and those of whom he follows, newest first;
// alice's status once, at his boost of it (as the native feed shows a post reposted).
const home = await bob.v1.timelines.home.list({ limit: 40 });
assert.deepEqual(
  home.map((s) => s.id),
  [boost.id, reply.id],
);

// Search: the status by its words, the tag, the account.
const found = await bob.v2.search.list({ q: `hello ${TAG}`, type: "statuses" });
assert.deepEqual(
  found.statuses.map((s) => s.id),
  [status.id],
);
const tags = await bob.v2.search.list({ q: `#${TAG}`, type: "hashtags" });
assert.deepEqual(
  tags.hashtags.map((t) => t.name),
  [TAG],
);
const people = await bob.v2.search.list({ q: `@${me.username}`, type: "accounts" });
assert.deepEqual(
  people.accounts.map((a) => a.id),
  [me.id],
);

// Alice hears of it all.
const heard = await alice.v1.notifications.list();
assert.deepEqual(
  heard.map((n) => n.type),
  ["reblog", "favourite", "mention", "follow"],
);
assert.ok(heard.every((n) => n.account.id === them.id));
assert.equal(heard[2].status.id, reply.id);
const favourites = await alice.v1.notifications.list({ types: ["favourite"] });
assert.deepEqual(
  favourites.map((n) => n.type),
  ["favourite"],
);

// Pages: next through the Link header, and prev back.
const more = [];
for (let i = 0; i < 5; i++) more.push(await alice.v1.statuses.create({ status: `page ${i} #${TAG}` }));
const everything = (await bob.v1.timelines.home.list({ limit: 40 })).map((s) => s.id);
assert.equal(everything.length, 7);
const walked = [];
const pages = [];
for await (const page of bob.v1.timelines.home.list({ limit: 2 })) {
  if (page.length === 0) break;
  pages.push(page.map((s) => s.id));
  walked.push(...page.map((s) => s.id));
}
assert.deepEqual(walked, everything, "the next links walk the whole timeline once");
assert.deepEqual(
  pages.map((page) => page.length),
  [2, 2, 2, 1],
);
const back = bob.v1.timelines.home.list({ limit: 2, maxId: pages[1].at(-1) }).setDirection("prev").values();
assert.deepEqual(
  (await back.next()).value.map((s) => s.id),
  pages[2],
);
assert.deepEqual(
  (await back.next()).value.map((s) => s.id),
  pages[1],
  "prev: what is just newer",
);
const newer = await alice.v1.statuses.create({ status: `newer #${TAG}` });
const refresh = await bob.v1.timelines.home.list({ minId: pages[0][0] });
assert.deepEqual(
  refresh.map((s) => s.id),
  [newer.id],
  "a refresh brings just what is new",
);
const tagged = await bob.v1.timelines.tag.$select(TAG.toUpperCase()).list({ limit: 40 });
assert.deepEqual(
  tagged.map((s) => s.id),
  [newer.id, ...more.map((s) => s.id).reverse(), status.id],
);

// Undo, delete, revoke.
assert.equal((await bob.v1.statuses.$select(status.id).unfavourite()).favourited, false);
assert.equal((await bob.v1.statuses.$select(status.id).unreblog()).reblogged, false);
const deleted = await alice.v1.statuses.$select(status.id).remove();
assert.equal(deleted.id, status.id);
await rejects(bob.v1.statuses.$select(status.id).fetch(), 404);
assert.equal((await bob.v1.accounts.$select(me.id).unfollow()).following, false);

await oauth.revoke({ clientId: app.clientId, clientSecret: app.clientSecret, token: aliceToken });
await rejects(alice.v1.accounts.verifyCredentials(), 401);
assert.equal((await bob.v1.accounts.verifyCredentials()).id, them.id, "another token of the app still works");

console.log(JSON.stringify({ alice: ALICE, bob: BOB, deleted: status.id, reply: reply.id, newer: newer.id, app: app.clientId }));
