import type { AddressInfo } from 'node:net';
import t, { type Test } from 'tap';
import { CookieBrowser, startIdp, type TestIdp } from '../helpers/oidc.js';
import { demoSignInLink } from '../../src/auth/console-login.js';
import { mapGroup, testApp, type TestApp } from '../helpers/app.js';

const STEWARD = { sub: 'idp|stella', email: 'stella@bank.example', name: 'Stella Steward', groups: ['data-stewards', 'staff'] };
const OFFICER = { sub: 'idp|omar', email: 'omar@bank.example', name: 'Omar Officer', groups: ['compliance'] };
const STRANGER = { sub: 'idp|sam', email: 'sam@bank.example', name: 'Sam', groups: ['staff'] };

interface Setup {
  api: TestApp;
  idp: TestIdp;
  base: string;
}

/** Custos listening on a free port with a real in-process OIDC provider as its IdP. */
async function setup(t: Test, config: Record<string, unknown> = {}): Promise<Setup> {
  const idp = await startIdp(t);
  for (const user of [STEWARD, OFFICER, STRANGER]) idp.users.set(user.sub.split('|')[1]!, user);
  const api = await testApp(t, {
    config: { oidc: { issuer: idp.issuer, clientId: idp.clientId, clientSecret: idp.clientSecret, rolesClaim: 'groups' }, ...config },
  });
  await api.app.listen({ port: 0, host: '127.0.0.1' });
  const base = `http://127.0.0.1:${(api.app.server.address() as AddressInfo).port}`;
  idp.register(`${base}/auth/callback`);
  for (const [group, role] of [['data-stewards', 'steward'], ['compliance', 'compliance_officer']] as const) t.ok(await mapGroup(api, group, role), `map ${group}`);
  return { api, idp, base };
}

/** Walks the authorization code flow: Custos → IdP login form → consent → Custos callback. */
async function signIn(s: Setup, login: string, browser = new CookieBrowser(), returnTo = '/catalog') {
  const start = await browser.follow(`${s.base}/auth/login?return_to=${encodeURIComponent(returnTo)}`);
  const authorize = start.url;
  if (!authorize.startsWith(s.idp.issuer)) return { browser, ...start };
  const form = await start.response.text();
  const action = /action="([^"]+)"/.exec(form)![1]!;
  const done = await browser.follow(new URL(action, authorize).href, {
    method: 'POST',
    body: new URLSearchParams({ login }).toString(),
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
  });
  return { browser, ...done };
}

async function session(s: Setup, browser: CookieBrowser) {
  const response = await browser.fetch(`${s.base}/v1/session`);
  return { status: response.status, body: (await response.json()) as Record<string, any> };
}

t.test('a steward signs in with OIDC (code + PKCE) and the session acts on /v1 like a key, audited with their identity', async (t) => {
  const s = await setup(t);
  const { browser, url, response } = await signIn(s, 'stella');
  t.equal(new URL(url).pathname, '/catalog', 'back where the sign-in started');
  t.not(response.status, 500);

  const cookie = browser.cookies(s.base);
  t.ok(cookie.get('custos_session'), 'session cookie set');
  const row = await s.api.app.db('console_sessions').first();
  t.not(row.id_hash, cookie.get('custos_session'), 'only a hash of the cookie is stored');

  const me = await session(s, browser);
  t.equal(me.status, 200);
  t.match(me.body, { subject: 'idp|stella', email: 'stella@bank.example', name: 'Stella Steward', role: 'steward', via: 'session', idle_timeout_minutes: 30 });
  t.type(me.body.csrf_token, 'string');

  const list = await browser.fetch(`${s.base}/v1/domains`);
  t.equal(list.status, 200, 'reads like a steward key');

  const body = JSON.stringify({ name: 'wealth', owner: 'stella@bank.example', steward: 'stella@bank.example', review_frequency: 'quarterly' });
  const noToken = await browser.fetch(`${s.base}/v1/domains`, { method: 'POST', body, headers: { 'content-type': 'application/json' } });
  t.equal(noToken.status, 403, 'a state-changing request without the CSRF token is refused');
  t.match(await noToken.json(), { type: '/problems/csrf-token-invalid' });
  const badToken = await browser.fetch(`${s.base}/v1/domains`, { method: 'POST', body, headers: { 'content-type': 'application/json', 'x-csrf-token': 'forged' } });
  t.equal(badToken.status, 403);
  t.equal(await s.api.app.db('domains').count('* as n').first().then((r: any) => Number(r.n)), 0, 'nothing was written');

  const created = await browser.fetch(`${s.base}/v1/domains`, { method: 'POST', body, headers: { 'content-type': 'application/json', 'x-csrf-token': me.body.csrf_token } });
  t.equal(created.status, 201);
  const audit = await s.api.app.db('audit_log').where({ entity: 'domains', action: 'create' }).first();
  t.match(audit, { actor: 'stella@bank.example', actor_subject: 'idp|stella', actor_email: 'stella@bank.example', actor_key_id: null, role: 'steward' });

  const keyAudit = await s.api.app.db('audit_log').where({ entity: 'pending-changes', action: 'propose' }).first();
  t.match(keyAudit.actor_subject, /^key:/, 'a key is audited with its own subject');

  const forbidden = await browser.fetch(`${s.base}/v1/api-keys`, { method: 'POST', body: JSON.stringify({ role: 'admin', name: 'x' }), headers: { 'content-type': 'application/json', 'x-csrf-token': me.body.csrf_token } });
  t.equal(forbidden.status, 403, 'the role of the group, no more');

  // Another session's token does not work with this one.
  const other = await signIn(s, 'omar');
  const omar = await session(s, other.browser);
  const crossed = await browser.fetch(`${s.base}/v1/domains`, { method: 'POST', body: body.replace('wealth', 'retail'), headers: { 'content-type': 'application/json', 'x-csrf-token': omar.body.csrf_token } });
  t.equal(crossed.status, 403, "another session's CSRF token is refused");
});

t.test('the session cookie is HttpOnly and SameSite=Lax, Secure behind TLS', async (t) => {
  const s = await setup(t);
  const browser = new CookieBrowser();
  const start = await browser.fetch(`${s.base}/auth/login`);
  t.equal(start.status, 303);
  const login = start.headers.getSetCookie().find((c) => c.startsWith('custos_login='))!;
  t.match(login, /HttpOnly/);
  t.match(login, /SameSite=Lax/);
  t.notMatch(login, /Secure/, 'plain http on a laptop');
  const location = new URL(start.headers.get('location')!);
  t.equal(location.searchParams.get('code_challenge_method'), 'S256', 'PKCE');
  t.ok(location.searchParams.get('nonce'));

  const { browser: signedIn } = await signIn(s, 'stella');
  t.ok(signedIn.cookies(s.base).get('custos_session'));

  const tls = await testApp(t, { config: { publicUrl: 'https://custos.bank.example', oidc: { issuer: s.idp.issuer, clientId: s.idp.clientId, rolesClaim: 'groups' } } });
  const redirect = await tls.app.inject({ method: 'GET', url: '/auth/login' });
  const cookie = ([] as string[]).concat(redirect.headers['set-cookie'] as string[]).find((c) => c.startsWith('custos_login='))!;
  t.match(cookie, /; Secure/);
  t.equal(new URL(redirect.headers.location as string).searchParams.get('redirect_uri'), 'https://custos.bank.example/auth/callback');
});

t.test('sign-in is refused for unmapped groups, replayed or foreign state, and outside return paths', async (t) => {
  const s = await setup(t);
  const stranger = await signIn(s, 'sam');
  t.equal(new URL(stranger.url).pathname, '/signin');
  t.match(new URL(stranger.url).searchParams.get('error'), /none of your groups is mapped/);
  t.notOk(stranger.browser.cookies(s.base).get('custos_session'));

  // The callback is bound to the browser that started the sign-in.
  const victim = new CookieBrowser();
  const started = await victim.fetch(`${s.base}/auth/login`);
  const state = new URL(started.headers.get('location')!).searchParams.get('state')!;
  const attacker = new CookieBrowser();
  const forged = await attacker.fetch(`${s.base}/auth/callback?code=abc&state=${state}`);
  t.equal(forged.status, 303);
  t.match(decodeURIComponent(forged.headers.get('location')!), /not started in this browser/);
  // A state is used once.
  const first = await victim.fetch(`${s.base}/auth/callback?code=abc&state=${state}`);
  t.match(decodeURIComponent(first.headers.get('location')!), /did not confirm/);
  const again = await victim.fetch(`${s.base}/auth/callback?code=abc&state=${state}`);
  t.match(decodeURIComponent(again.headers.get('location')!), /expired or was already used/);

  const elsewhere = await signIn(s, 'stella', new CookieBrowser(), '//evil.example/steal');
  t.equal(elsewhere.url, `${s.base}/`, 'no open redirect');
});

t.test('logout, idle and absolute timeouts, and a removed mapping end what a session can do', async (t) => {
  const s = await setup(t);
  const db = s.api.app.db;
  const { browser } = await signIn(s, 'stella');
  const me = await session(s, browser);
  t.equal(me.status, 200);

  await db('console_sessions').update({ last_seen_at: db.raw(`now() - interval '31 minutes'`) });
  t.equal((await session(s, browser)).status, 401, 'idle for longer than CUSTOS_SESSION_IDLE_MINUTES');
  await db('console_sessions').update({ last_seen_at: db.fn.now() });
  t.equal((await session(s, browser)).status, 200);
  await db('console_sessions').update({ expires_at: db.raw(`now() - interval '1 second'`) });
  t.equal((await session(s, browser)).status, 401, 'past its absolute lifetime however busy');

  const { browser: officer } = await signIn(s, 'omar');
  const officerMe = await session(s, officer);
  const mapping = (await s.api.call('GET', '/v1/role-mappings')).body.items.find((m: any) => m.group === 'compliance');
  t.equal((await s.api.call('DELETE', `/v1/role-mappings/${mapping.id}`)).status, 204);
  t.equal((await session(s, officer)).status, 401, 'the role comes from the current mappings');
  await mapGroup(s.api, 'compliance', 'compliance_officer');
  t.equal((await session(s, officer)).status, 200);

  const noToken = await officer.fetch(`${s.base}/auth/logout`, { method: 'POST' });
  t.equal(noToken.status, 403, 'logout needs the CSRF token too');
  const out = await officer.fetch(`${s.base}/auth/logout`, { method: 'POST', headers: { 'x-csrf-token': officerMe.body.csrf_token } });
  t.equal(out.status, 204);
  t.notOk(officer.cookies(s.base).get('custos_session'), 'cookie cleared');
  t.equal(await db('console_sessions').count('* as n').first().then((r: any) => Number(r.n)), 0, 'the session row is gone');
});

t.test('one person with two sessions is still one person for four-eyes', async (t) => {
  const s = await setup(t);
  const first = await signIn(s, 'omar');
  const second = await signIn(s, 'omar');
  const a = await session(s, first.browser);
  const b = await session(s, second.browser);
  t.not(a.body.csrf_token, b.body.csrf_token);
  const requested = await first.browser.fetch(`${s.base}/v1/exceptions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-csrf-token': a.body.csrf_token },
    body: JSON.stringify({ rule_id: 's3.bucket_versioning', justification: 'legacy bucket being migrated', compensating_control: 'bucket policy denies unencrypted puts', expires_at: new Date(Date.now() + 86400_000 * 30).toISOString() }),
  });
  t.equal(requested.status, 201, await requested.clone().text());
  const { id } = (await requested.json()) as { id: string };
  const approve = await second.browser.fetch(`${s.base}/v1/exceptions/${id}/approve`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-csrf-token': b.body.csrf_token }, body: '{}' });
  t.equal(approve.status, 403, 'the same person approving from a second session is refused');
});

t.test('--demo without an IdP prints a one-time admin sign-in link', async (t) => {
  const api = await testApp(t, { demo: true });
  await api.app.listen({ port: 0, host: '127.0.0.1' });
  // What npm start -- --demo prints after listening (src/server.ts).
  const link = `http://127.0.0.1:${(api.app.server.address() as AddressInfo).port}${await demoSignInLink(api.app)}`;
  const browser = new CookieBrowser();
  const used = await browser.follow(link);
  t.equal(new URL(used.url).pathname, '/');
  const me = await browser.fetch(new URL('/v1/session', link).href);
  t.match(await me.json(), { role: 'admin', subject: 'demo-admin', via: 'session' });
  const again = await new CookieBrowser().fetch(link);
  t.match(decodeURIComponent(again.headers.get('location')!), /already used/);
  const config = await browser.fetch(new URL('/auth/config', link).href);
  t.same(await config.json(), { sso: false, demo_link: true });
  t.equal((await api.call('GET', '/auth/login', { as: null })).status, 404, 'no SSO without an issuer');
});
