import type { Knex } from 'knex';
import type { Actor } from './plugin.js';

/**
 * Who counts as one person for four eyes (separation of duties).
 *
 * A subject is the identity behind a credential (a key's `subject`, a person's IdP subject). A key
 * is also held by whoever issued it: `POST /v1/api-keys` and `.../rotate` show the key itself to the
 * caller, so its subject is recorded as the key's issuer (`api_keys.created_by_subject`). Two
 * subjects are therefore **one person** when they are equal, or when one issued a key of the other,
 * directly or through keys it issued (an admin who mints an admin key for "someone" holds every key
 * that key mints). Every key ever issued counts, revoked and expired ones too: a key that was live
 * when a change was proposed may be revoked before it is approved.
 *
 * What "issuer" means for each credential:
 * - a key created or rotated through the API: the subject of the caller (a key's subject, or the IdP
 *   subject of a person signed in to the console);
 * - the bootstrap key (CUSTOS_ADMIN_KEY or the generated `admin-key` file): no issuer (NULL). Its
 *   holder is the operator, whose identity is the key's own subject `key:<id>`; every key minted with
 *   it is issued by that subject, so the operator can never be the second person for those keys;
 * - a console session (OIDC, or the demo link): no issuer in Custos. The IdP vouches for the
 *   subject, and who gets a role is itself a four-eyes change (role mappings). Keys the person
 *   mints are issued by their IdP subject.
 *
 * Two keys issued by one third subject (an admin handing keys to two officers) are not one person:
 * handing out keys is what admins are for, and the README's people all get theirs from the bootstrap
 * admin. That admin could still keep copies of both; the audit log names who created every key, and
 * `GET /v1/api-keys` shows each key's `created_by_subject` for access reviews.
 */
export interface Relatives {
  subject: string;
  /** Subjects that issued a key of `subject`, directly or through keys they issued. */
  issuers: ReadonlySet<string>;
  /** Subjects of keys `subject` issued, directly or through keys it issued. */
  issued: ReadonlySet<string>;
}

/** The subjects related to `subject` by key issuance (one query; api_keys is small and indexed on both columns). */
export async function relativesOf(db: Knex, subject: string): Promise<Relatives> {
  const { rows } = await db.raw<{ rows: Array<{ direction: 'up' | 'down'; subject: string }> }>(
    `WITH RECURSIVE up(subject) AS (
         SELECT ?::text
         UNION
         SELECT k.created_by_subject FROM api_keys k JOIN up ON k.subject = up.subject WHERE k.created_by_subject IS NOT NULL
       ), down(subject) AS (
         SELECT ?::text
         UNION
         SELECT k.subject FROM api_keys k JOIN down ON k.created_by_subject = down.subject
       )
     SELECT 'up' AS direction, subject FROM up WHERE subject <> ?
     UNION ALL
     SELECT 'down', subject FROM down WHERE subject <> ?`,
    [subject, subject, subject, subject],
  );
  const issuers = new Set<string>();
  const issued = new Set<string>();
  for (const row of rows) (row.direction === 'up' ? issuers : issued).add(row.subject);
  return { subject, issuers, issued };
}

/** Why `other` is the same person as `relatives.subject` for four eyes (a sentence), or undefined when they are two. */
export function samePersonAs(relatives: Relatives, other: string | null | undefined): string | undefined {
  if (other === null || other === undefined) return undefined;
  if (other === relatives.subject) return `${other} is the same subject`;
  if (relatives.issuers.has(other)) return `${other} issued a key of ${relatives.subject} (directly or through a key it issued)`;
  if (relatives.issued.has(other)) return `${relatives.subject} issued a key of ${other} (directly or through a key it issued)`;
  return undefined;
}

/** Whether the actor and `other` are one person for four eyes, and why (undefined: two people). */
export async function samePerson(db: Knex, actor: Actor, other: string | null | undefined): Promise<string | undefined> {
  if (other === null || other === undefined) return undefined;
  if (other === actor.subject) return samePersonAs({ subject: actor.subject, issuers: new Set(), issued: new Set() }, other);
  return samePersonAs(await relativesOf(db, actor.subject), other);
}
