import { Type } from '@sinclair/typebox';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import * as oidc from 'openid-client';
import { HttpProblem, problemResponses } from '../http/problem.js';
import { IsoDateTime, Nullable, ROLES, RoleSchema, StringEnum } from '../http/schemas.js';
import {
  createSession,
  endSession,
  LOGIN_COOKIE,
  newToken,
  PERSON_ROLES,
  roleMappings,
  roleFor,
  safeReturnTo,
  SESSION_COOKIE,
  startLogin,
  takeLogin,
  type PersonRole,
} from './sessions.js';

const SessionView = Type.Object(
  {
    subject: Type.String({ description: 'IdP subject of a person, key:<id> of an API key' }),
    name: Type.String({ examples: ['Alice Martin'] }),
    email: Nullable(Type.String()),
    role: RoleSchema,
    via: StringEnum(['key', 'session'] as const),
    csrf_token: Nullable(Type.String({ description: 'Send as x-csrf-token on every state-changing request of a console session' })),
    expires_at: Nullable(IsoDateTime),
    idle_timeout_minutes: Nullable(Type.Integer()),
    principals: Type.Union([Type.Array(Type.String()), Type.Null()], { description: 'a bound pipeline key: the principals it may ask access decisions about; null: not bound' }),
  },
  { title: 'Session' },
);

/** Where the IdP sends people back: CUSTOS_PUBLIC_URL, else the address this request came to. */
function baseUrl(request: FastifyRequest): string {
  return request.server.config.publicUrl ?? `${request.protocol}://${request.host}`;
}

function cookieOptions(request: FastifyRequest, maxAgeSeconds: number) {
  // Secure when people reach Custos over TLS (directly or through a proxy named in CUSTOS_PUBLIC_URL).
  const secure = baseUrl(request).startsWith('https:');
  return { path: '/', httpOnly: true, sameSite: 'lax' as const, secure, maxAge: maxAgeSeconds };
}

/** Sign-in failures go back to the console's sign-in page, which shows the reason. */
function signInError(reply: FastifyReply, message: string) {
  return reply.redirect(`/signin?error=${encodeURIComponent(message)}`, 303);
}

function claimGroups(value: unknown): string[] {
  if (Array.isArray(value)) return value.filter((g): g is string => typeof g === 'string').slice(0, 500);
  if (typeof value === 'string') return [value];
  return [];
}

/**
 * People sign in to the console with OpenID Connect (authorization code + PKCE, openid-client),
 * or on a demo without an IdP with the one-time link printed at start-up. Either way a server-side
 * session starts whose cookie authenticates /v1 like a key, with the role of the person's groups.
 */
export default async function consoleLoginRoutes(app: FastifyInstance, options: { demoLink: boolean }) {
  const { config } = app;
  const limits = { idleMinutes: config.sessionIdleMinutes, maxHours: config.sessionMaxHours };
  const sessionSeconds = config.sessionMaxHours * 3600;

  // Discovery happens at the first sign-in, and again after a failure: an IdP that is down at start-up
  // does not stop Custos, and sign-in fails closed (503) while it stays down.
  let discovered: Promise<oidc.Configuration> | undefined;
  const idp = () => {
    const settings = config.oidc!;
    discovered ??= oidc
      .discovery(new URL(settings.issuer), settings.clientId, settings.clientSecret, undefined, {
        execute: settings.issuer.startsWith('http:') ? [oidc.allowInsecureRequests] : [],
        timeout: 10,
      })
      .catch((error: unknown) => {
        discovered = undefined;
        throw error;
      });
    return discovered;
  };

  async function signIn(request: FastifyRequest, reply: FastifyReply, person: Parameters<typeof createSession>[1], returnTo: string) {
    const { token } = await createSession(app.db, person, limits);
    reply.setCookie(SESSION_COOKIE, token, cookieOptions(request, sessionSeconds));
    reply.clearCookie(LOGIN_COOKIE, { path: '/auth' });
    return reply.redirect(safeReturnTo(returnTo), 303);
  }

  app.get('/auth/config', {
    config: { public: true },
    schema: { hide: true },
    handler: async () => ({ sso: Boolean(config.oidc), demo_link: options.demoLink }),
  });

  app.get('/auth/login', {
    config: { public: true },
    schema: { hide: true, querystring: Type.Object({ return_to: Type.Optional(Type.String({ maxLength: 500 })) }) },
    handler: async (request, reply) => {
      if (!config.oidc) throw new HttpProblem(404, 'not-found', 'no identity provider is configured (CUSTOS_OIDC_ISSUER)');
      let configuration: oidc.Configuration;
      try {
        configuration = await idp();
      } catch (error) {
        request.log.warn({ err: error }, 'identity provider discovery failed');
        throw new HttpProblem(503, 'idp-unavailable', 'the identity provider cannot be reached; try again shortly');
      }
      const state = oidc.randomState();
      const nonce = oidc.randomNonce();
      const codeVerifier = oidc.randomPKCECodeVerifier();
      const { return_to } = request.query as { return_to?: string };
      await startLogin(app.db, { kind: 'oidc', token: state, codeVerifier, nonce, returnTo: safeReturnTo(return_to) });
      // The state is also bound to this browser, so a callback started elsewhere (login CSRF) fails.
      reply.setCookie(LOGIN_COOKIE, state, { ...cookieOptions(request, 600), path: '/auth' });
      const url = oidc.buildAuthorizationUrl(configuration, {
        redirect_uri: `${baseUrl(request)}/auth/callback`,
        scope: 'openid email profile',
        code_challenge: await oidc.calculatePKCECodeChallenge(codeVerifier),
        code_challenge_method: 'S256',
        state,
        nonce,
      });
      return reply.redirect(url.href, 303);
    },
  });

  app.get('/auth/callback', {
    config: { public: true },
    schema: { hide: true },
    handler: async (request, reply) => {
      if (!config.oidc) throw new HttpProblem(404, 'not-found', 'no identity provider is configured (CUSTOS_OIDC_ISSUER)');
      const query = request.query as Record<string, string | undefined>;
      if (query.error) return signInError(reply, `the identity provider refused the sign-in: ${String(query.error_description ?? query.error).slice(0, 200)}`);
      const state = typeof query.state === 'string' ? query.state : '';
      if (!state || request.cookies[LOGIN_COOKIE] !== state) return signInError(reply, 'this sign-in was not started in this browser; start again');
      const login = await takeLogin(app.db, 'oidc', state);
      if (!login) return signInError(reply, 'this sign-in has expired or was already used; start again');
      let claims: Record<string, unknown>;
      try {
        const configuration = await idp();
        const callbackUrl = new URL(request.url, baseUrl(request));
        const tokens = await oidc.authorizationCodeGrant(configuration, callbackUrl, {
          pkceCodeVerifier: login.code_verifier!,
          expectedState: state,
          expectedNonce: login.nonce!,
          idTokenExpected: true,
        });
        claims = { ...tokens.claims() };
        // Groups may come in the ID token or only from userinfo, depending on the IdP.
        if (claims[config.oidc.rolesClaim] === undefined || claims.email === undefined) {
          const info = await oidc.fetchUserInfo(configuration, tokens.access_token, String(claims.sub));
          claims = { ...info, ...claims };
        }
      } catch (error) {
        request.log.warn({ err: error }, 'OIDC sign-in failed');
        return signInError(reply, 'the identity provider did not confirm the sign-in; start again');
      }
      const groups = claimGroups(claims[config.oidc.rolesClaim]);
      const role = roleFor(groups, await roleMappings(app.db));
      if (!role) return signInError(reply, `none of your groups is mapped to a Custos role (claim ${config.oidc.rolesClaim}); ask an admin`);
      const email = typeof claims.email === 'string' ? claims.email : null;
      const name = typeof claims.name === 'string' ? claims.name : (email ?? String(claims.sub));
      return signIn(request, reply, { subject: String(claims.sub), email, name, groups }, login.return_to);
    },
  });

  if (options.demoLink) {
    app.get('/auth/demo', {
      config: { public: true },
      schema: { hide: true, querystring: Type.Object({ token: Type.String({ maxLength: 200 }) }) },
      handler: async (request, reply) => {
        const { token } = request.query as { token: string };
        const login = await takeLogin(app.db, 'demo', token);
        if (!login) return signInError(reply, 'this sign-in link was already used or has expired; restart Custos with --demo for a new one');
        const role: PersonRole = 'admin';
        return signIn(request, reply, { subject: 'demo-admin', email: null, name: 'Demo admin', groups: [], fixedRole: role }, '/');
      },
    });
  }

  app.post('/auth/logout', {
    config: { roles: PERSON_ROLES },
    schema: { hide: true },
    handler: async (request, reply) => {
      const cookie = request.cookies[SESSION_COOKIE];
      if (cookie) await endSession(app.db, cookie);
      reply.clearCookie(SESSION_COOKIE, { path: '/' });
      return reply.code(204).send();
    },
  });

  app.get('/v1/session', {
    config: { roles: ROLES },
    schema: {
      tags: ['access control'],
      summary: 'Who is calling: the person of a console session (with its CSRF token) or the API key',
      response: { 200: SessionView, ...problemResponses(401) },
    },
    handler: async (request, reply) => {
      const { actor, session } = request;
      reply.header('cache-control', 'no-store');
      return {
        subject: actor.subject,
        name: session?.name ?? actor.name,
        email: actor.email,
        role: actor.role,
        via: actor.via,
        csrf_token: session ? reply.generateCsrf() : null,
        expires_at: session ? new Date(session.expires_at).toISOString() : null,
        idle_timeout_minutes: session ? config.sessionIdleMinutes : null,
        principals: actor.principals ? [...actor.principals] : null,
      };
    },
  });
}

/** A one-time admin sign-in link for a demo without an IdP (valid 12 hours or until used). */
export async function demoSignInLink(app: FastifyInstance): Promise<string> {
  const token = newToken();
  await startLogin(app.db, { kind: 'demo', token, minutes: 12 * 60 });
  return `/auth/demo?token=${token}`;
}
