import http from 'node:http';
import type { AddressInfo } from 'node:net';
import Provider from 'oidc-provider';
import type { Test } from 'tap';

/** A person known to the test identity provider. */
export interface IdpUser {
  sub: string;
  email: string;
  name: string;
  groups: string[];
}

export interface TestIdp {
  issuer: string;
  clientId: string;
  clientSecret: string;
  users: Map<string, IdpUser>;
  /** Registers Custos's redirect URI; the provider is created here, once Custos's port is known. */
  register(redirectUri: string): void;
}

const escape = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/**
 * A real OpenID Connect provider (oidc-provider) in this process, on a free port. Its login page
 * is a form that takes a user name (users are those in `users`, no password: the test is about
 * Custos's side of the protocol); consent is granted for what was asked.
 */
export async function startIdp(t: Test): Promise<TestIdp> {
  let provider: Provider | undefined;
  const server = http.createServer((req, res) => {
    if (!provider) {
      res.statusCode = 503;
      res.end('provider not registered yet');
      return;
    }
    handle(provider, req, res).catch((error: unknown) => {
      res.statusCode = 500;
      res.end(String(error));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())));
  const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const users = new Map<string, IdpUser>();
  const idp: TestIdp = {
    issuer,
    clientId: 'custos-console',
    clientSecret: 'custos-console-secret-0123456789',
    users,
    register(redirectUri) {
      provider = new Provider(issuer, {
        clients: [
          {
            client_id: idp.clientId,
            client_secret: idp.clientSecret,
            redirect_uris: [redirectUri],
            grant_types: ['authorization_code'],
            response_types: ['code'],
          },
        ],
        claims: { openid: ['sub'], email: ['email', 'email_verified'], profile: ['name', 'groups'] },
        cookies: { keys: ['test-idp-cookie-key'] },
        ttl: { Interaction: 600, Session: 3600, Grant: 3600, AccessToken: 600, IdToken: 600, AuthorizationCode: 60 },
        features: { devInteractions: { enabled: false } },
        pkce: { required: () => true },
        interactions: { url: (_ctx, interaction) => `/interaction/${interaction.uid}` },
        findAccount: async (_ctx, sub) => {
          const user = [...users.values()].find((u) => u.sub === sub);
          if (!user) return undefined;
          return { accountId: sub, claims: async () => ({ sub, email: user.email, email_verified: true, name: user.name, groups: user.groups }) };
        },
      });
      provider.proxy = false;
    },
  };
  return idp;

  async function handle(provider: Provider, req: http.IncomingMessage, res: http.ServerResponse) {
    const match = /^\/interaction\/([^/?]+)(\/login)?/.exec(req.url ?? '');
    if (!match) return provider.callback()(req, res);
    const details = await provider.interactionDetails(req, res);
    if (match[2] && req.method === 'POST') {
      const body = new URLSearchParams(await readBody(req));
      const user = users.get(body.get('login') ?? '');
      if (!user) {
        res.setHeader('content-type', 'text/html');
        res.end(`<!doctype html><html lang="en"><title>Test IdP</title><main><p role="alert">Unknown user</p><a href="/interaction/${details.uid}">Back</a></main></html>`);
        return;
      }
      return provider.interactionFinished(req, res, { login: { accountId: user.sub } }, { mergeWithLastSubmission: false });
    }
    if (details.prompt.name === 'login') {
      res.setHeader('content-type', 'text/html');
      res.end(`<!doctype html><html lang="en"><head><title>Test IdP: sign in</title></head><body><main><h1>Test IdP</h1>
<form method="post" action="/interaction/${escape(details.uid)}/login">
<label for="login">User name</label> <input id="login" name="login" autocomplete="username" required>
<button type="submit">Sign in</button></form></main></body></html>`);
      return;
    }
    // Consent: grant what Custos asked for.
    const grant = details.grantId
      ? ((await provider.Grant.find(details.grantId)) ?? new provider.Grant({ accountId: details.session!.accountId, clientId: String(details.params.client_id) }))
      : new provider.Grant({ accountId: details.session!.accountId, clientId: String(details.params.client_id) });
    grant.addOIDCScope(String(details.params.scope));
    const grantId = await grant.save();
    return provider.interactionFinished(req, res, { consent: { grantId } }, { mergeWithLastSubmission: true });
  }
}

function readBody(req: http.IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => {
      body += chunk;
      if (body.length > 10_000) req.destroy();
    });
    req.on('end', () => resolve(body));
    req.on('error', reject);
  });
}

/**
 * A minimal browser for HTTP tests: keeps cookies per origin and follows redirects by hand, so a
 * sign-in can be walked through Custos and the provider without a real browser.
 */
export class CookieBrowser {
  private jars = new Map<string, Map<string, string>>();

  cookies(url: string): Map<string, string> {
    const origin = new URL(url).origin;
    if (!this.jars.has(origin)) this.jars.set(origin, new Map());
    return this.jars.get(origin)!;
  }

  async fetch(url: string, init: { method?: string; body?: string; headers?: Record<string, string> } = {}): Promise<Response> {
    const jar = this.cookies(url);
    const headers: Record<string, string> = { ...init.headers };
    if (jar.size) headers.cookie = [...jar].map(([k, v]) => `${k}=${v}`).join('; ');
    const response = await fetch(url, { method: init.method ?? 'GET', body: init.body, headers, redirect: 'manual' });
    for (const line of response.headers.getSetCookie()) {
      const [pair] = line.split(';');
      const eq = pair!.indexOf('=');
      const name = pair!.slice(0, eq).trim();
      const value = pair!.slice(eq + 1).trim();
      if (value === '' || /expires=Thu, 01 Jan 1970/i.test(line) || /max-age=0/i.test(line)) jar.delete(name);
      else jar.set(name, value);
    }
    return response;
  }

  /** Follows redirects (GET) from `url`; returns the last response and its URL. */
  async follow(url: string, init: { method?: string; body?: string; headers?: Record<string, string> } = {}, limit = 15): Promise<{ response: Response; url: string }> {
    let current = url;
    let response = await this.fetch(current, init);
    for (let hops = 0; hops < limit && [301, 302, 303, 307, 308].includes(response.status); hops++) {
      current = new URL(response.headers.get('location')!, current).href;
      response = await this.fetch(current);
    }
    return { response, url: current };
  }
}
