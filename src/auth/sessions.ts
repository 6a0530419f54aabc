import { createHash, randomBytes } from 'node:crypto';
import type { Knex } from 'knex';
import type { Role } from '../http/schemas.js';

/** The roles a person can hold through the console; `pipeline` is for machines and their keys only. */
export const PERSON_ROLES = ['admin', 'compliance_officer', 'steward', 'auditor'] as const satisfies readonly Role[];
export type PersonRole = (typeof PERSON_ROLES)[number];

export const SESSION_COOKIE = 'custos_session';
export const LOGIN_COOKIE = 'custos_login';

export interface ConsoleSession {
  id_hash: string;
  subject: string;
  email: string | null;
  name: string;
  groups: string[];
  fixed_role: PersonRole | null;
  csrf_secret: string;
  created_at: string;
  last_seen_at: string;
  expires_at: string;
}

export interface SessionLimits {
  idleMinutes: number;
  maxHours: number;
}

/** Cookie values and one-time tokens are 256 random bits; only their SHA-256 is stored. */
export const newToken = () => randomBytes(32).toString('base64url');
export const hashToken = (token: string) => createHash('sha256').update(token, 'utf8').digest('hex');

/** Starts a session for a signed-in person; returns the cookie value (shown to no one else). */
export async function createSession(
  db: Knex,
  person: { subject: string; email: string | null; name: string; groups: string[]; fixedRole?: PersonRole },
  limits: SessionLimits,
): Promise<{ token: string; session: ConsoleSession }> {
  const token = newToken();
  const [session] = await db('console_sessions')
    .insert({
      id_hash: hashToken(token),
      subject: person.subject,
      email: person.email,
      name: person.name,
      groups: JSON.stringify(person.groups),
      fixed_role: person.fixedRole ?? null,
      // The CSRF secret lives with the session, so a token is good for this session only.
      csrf_secret: randomBytes(18).toString('base64url'),
      expires_at: db.raw(`now() + make_interval(hours => ?)`, [limits.maxHours]),
    })
    .returning('*');
  // Expired sessions are swept as new ones start: the table holds live sessions plus a few stale ones.
  await db('console_sessions').where('expires_at', '<', db.fn.now()).delete();
  return { token, session };
}

/**
 * The live session behind a cookie value: within its absolute lifetime and used within the idle
 * timeout. Each use moves last_seen_at (at most once a minute, so busy pages do not write per request).
 */
export async function findSession(db: Knex, token: string, limits: SessionLimits): Promise<ConsoleSession | undefined> {
  const session: ConsoleSession | undefined = await db('console_sessions')
    .where({ id_hash: hashToken(token) })
    .where('expires_at', '>', db.fn.now())
    .where('last_seen_at', '>', db.raw(`now() - make_interval(mins => ?)`, [limits.idleMinutes]))
    .first();
  if (!session) return undefined;
  await db('console_sessions')
    .where({ id_hash: session.id_hash })
    .where('last_seen_at', '<', db.raw(`now() - interval '1 minute'`))
    .update({ last_seen_at: db.fn.now() });
  return session;
}

export async function endSession(db: Knex, token: string): Promise<void> {
  await db('console_sessions').where({ id_hash: hashToken(token) }).delete();
}

export interface RoleMapping {
  id: string;
  group: string;
  role: PersonRole;
  version: number;
  created_by: string;
  created_at: string;
  updated_at: string;
}

/**
 * A person in groups mapped to several roles acts with the first of admin, compliance_officer,
 * steward, auditor; in no mapped group, they have no role and cannot sign in.
 */
export function roleFor(groups: readonly string[], mappings: readonly Pick<RoleMapping, 'group' | 'role'>[]): PersonRole | undefined {
  const held = new Set(mappings.filter((m) => groups.includes(m.group)).map((m) => m.role));
  return PERSON_ROLES.find((role) => held.has(role));
}

/**
 * Mappings are read at most every 5 s per instance (a changed or deleted mapping applies to live
 * sessions within 5 s; at once on the instance that changed it, through forgetRoleMappings).
 */
const MAPPINGS_CACHE_MS = 5_000;
let mappingsCache: { mappings: RoleMapping[]; until: number; db: Knex } | undefined;

export async function roleMappings(db: Knex): Promise<RoleMapping[]> {
  if (mappingsCache && mappingsCache.db === db && mappingsCache.until > Date.now()) return mappingsCache.mappings;
  const mappings: RoleMapping[] = await db('role_mappings').select('*').orderBy('group');
  mappingsCache = { mappings, until: Date.now() + MAPPINGS_CACHE_MS, db };
  return mappings;
}

export function forgetRoleMappings(): void {
  mappingsCache = undefined;
}

/** The role a session acts with now: its fixed role (the demo admin) or its groups' mapped role. */
export async function sessionRole(db: Knex, session: ConsoleSession): Promise<PersonRole | undefined> {
  return session.fixed_role ?? roleFor(session.groups, await roleMappings(db));
}

/** Records a login in progress (OIDC state or a demo link); the token is usable once, for 10 minutes. */
export async function startLogin(
  db: Knex,
  login: { kind: 'oidc' | 'demo'; token: string; codeVerifier?: string; nonce?: string; returnTo?: string; minutes?: number },
): Promise<void> {
  await db('console_logins').where('expires_at', '<', db.fn.now()).delete();
  await db('console_logins').insert({
    state_hash: hashToken(login.token),
    kind: login.kind,
    code_verifier: login.codeVerifier ?? null,
    nonce: login.nonce ?? null,
    return_to: login.returnTo ?? '/',
    expires_at: db.raw(`now() + make_interval(mins => ?)`, [login.minutes ?? 10]),
  });
}

/** Takes a login in progress: deleted as it is read, so a state or demo link works once. */
export async function takeLogin(
  db: Knex,
  kind: 'oidc' | 'demo',
  token: string,
): Promise<{ code_verifier: string | null; nonce: string | null; return_to: string } | undefined> {
  const [row] = await db('console_logins')
    .where({ state_hash: hashToken(token), kind })
    .where('expires_at', '>', db.fn.now())
    .delete()
    .returning(['code_verifier', 'nonce', 'return_to']);
  return row;
}

/** Only paths inside the console are allowed after sign-in: no open redirect to another site. */
export function safeReturnTo(value: unknown): string {
  return typeof value === 'string' && /^\/(?![/\\])[A-Za-z0-9/_\-.?=&%#]*$/.test(value) && value.length <= 500 ? value : '/';
}
