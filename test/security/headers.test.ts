/**
 * Issue 13: security headers on every response (helmet). Before, none were sent. API answers
 * are never cached; nothing may be framed; nothing is sniffed; the console's HTML gets a CSP that
 * allows only its own scripts (test/console/browser.test.ts runs the real console under it), while
 * its hashed assets keep their long caching; HSTS only when CUSTOS_PUBLIC_URL is https.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import t from 'tap';
import { testApp, tempDir } from '../helpers/app.js';

/** A console build as Vite lays it out: index.html and a hashed asset. */
async function consoleBuild(): Promise<string> {
  const root = await tempDir('custos-console-');
  await fs.mkdir(path.join(root, 'assets'));
  await fs.writeFile(path.join(root, 'index.html'), '<!doctype html><script type="module" src="/assets/index-Ab12Cd34.js"></script>');
  await fs.writeFile(path.join(root, 'assets', 'index-Ab12Cd34.js'), 'console.log("console")');
  return root;
}

const directives = (csp: unknown) => new Map(String(csp).split(';').map((d) => d.trim().split(/\s+/)).map(([name, ...values]) => [name!, values.join(' ')]));

t.test('every response: nosniff, no framing, a CSP; API answers are not stored; no HSTS over http', async (t) => {
  const api = await testApp(t, { consoleRoot: await consoleBuild() });
  const responses = {
    'GET /v1/domains (200)': await api.call('GET', '/v1/domains', { as: 'auditor' }),
    'GET /v1/domains without a key (401)': await api.call('GET', '/v1/domains', { as: null }),
    'POST /v1/domains invalid (400)': await api.call('POST', '/v1/domains', { as: 'steward', body: { name: 1 } }),
    'GET /v1/nothing (404)': await api.call('GET', '/v1/nothing'),
    'GET /v1/api-keys?limit=1': await api.call('GET', '/v1/api-keys?limit=1'),
    'GET /healthz': await api.call('GET', '/healthz', { as: null }),
    'GET / (console)': await api.call('GET', '/', { as: null }),
    'GET /assets/index-Ab12Cd34.js': await api.call('GET', '/assets/index-Ab12Cd34.js', { as: null }),
    'GET /catalog (console)': await api.call('GET', '/catalog', { as: null }),
    'GET /index.html': await api.call('GET', '/index.html', { as: null }),
    'GET /docs/json': await api.call('GET', '/docs/json', { as: null }),
  };
  for (const [name, response] of Object.entries(responses)) {
    t.equal(response.headers['x-content-type-options'], 'nosniff', `${name}: nosniff`);
    t.equal(response.headers['x-frame-options'], 'DENY', `${name}: X-Frame-Options DENY`);
    const csp = directives(response.headers['content-security-policy']);
    t.equal(csp.get('frame-ancestors'), "'none'", `${name}: frame-ancestors 'none'`);
    t.notOk(response.headers['strict-transport-security'], `${name}: no HSTS over plain http`);
    t.notOk(csp.has('upgrade-insecure-requests'), `${name}: requests are not upgraded to https`);
    if (name.includes('/v1')) t.equal(response.headers['cache-control'], 'no-store', `${name}: Cache-Control: no-store`);
  }
  t.equal(responses['GET /v1/domains (200)'].status, 200);
  t.equal(responses['GET /v1/domains without a key (401)'].status, 401);

  // The console: only its own scripts, and its hashed assets cached for a year.
  const page = directives(responses['GET / (console)'].headers['content-security-policy']);
  t.equal(page.get('script-src'), "'self'", 'the console runs only its own scripts (no inline script, no eval)');
  t.equal(page.get('object-src'), "'none'");
  t.equal(page.get('default-src'), "'self'");
  t.match(responses['GET /assets/index-Ab12Cd34.js'].headers['cache-control'], /max-age=31536000.*immutable/, 'hashed assets keep their caching');
  // The pages name the current hashed assets: revalidated on every visit. @fastify/static's sendFile
  // used to replace the page's no-cache with `public, max-age=0`, and served /index.html itself as an
  // immutable asset for a year.
  for (const name of ['GET / (console)', 'GET /catalog (console)', 'GET /index.html']) {
    t.equal(responses[name as keyof typeof responses].status, 200, name);
    t.equal(responses[name as keyof typeof responses].headers['cache-control'], 'no-cache', `${name}: Cache-Control: no-cache`);
  }
});

t.test('behind TLS (CUSTOS_PUBLIC_URL https): HSTS and upgraded requests', async (t) => {
  const api = await testApp(t, { config: { publicUrl: 'https://custos.bank.example' } });
  for (const url of ['/v1/domains', '/healthz']) {
    const response = await api.call('GET', url, { as: 'auditor' });
    t.equal(response.headers['strict-transport-security'], 'max-age=31536000; includeSubDomains', `${url}: HSTS for a year`);
    t.ok(directives(response.headers['content-security-policy']).has('upgrade-insecure-requests'), `${url}: upgrade-insecure-requests`);
  }
});
