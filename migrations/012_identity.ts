import type { Knex } from 'knex';

/**
 * Identity: every API key belongs to a subject (the person or machine behind it; SSO sessions carry
 * the IdP's subject), and four-eyes checks compare subjects, so one person with two keys is still one
 * person. Rows made before this migration get the subject of the key that made them (`key:<id>`, the
 * default subject of a key) or, where no key was recorded, `name:<name>`.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    ALTER TABLE api_keys ADD COLUMN subject text;
    UPDATE api_keys SET subject = 'key:' || id;
    ALTER TABLE api_keys ALTER COLUMN subject SET NOT NULL,
      ADD CONSTRAINT api_keys_subject_length CHECK (char_length(subject) BETWEEN 1 AND 200);
    CREATE INDEX api_keys_subject_idx ON api_keys (subject);

    ALTER TABLE audit_log ADD COLUMN actor_subject text;
    CREATE INDEX audit_log_actor_subject_idx ON audit_log (actor_subject, id);

    ALTER TABLE exceptions ADD COLUMN requester_subject text, ADD COLUMN decider_subject text;
    UPDATE exceptions e SET requester_subject = coalesce(
      (SELECT 'key:' || a.actor_key_id FROM audit_log a
        WHERE a.entity = 'exceptions' AND a.entity_id = e.id::text AND a.action = 'create' AND a.actor_key_id IS NOT NULL LIMIT 1),
      'name:' || e.requested_by),
      decider_subject = CASE WHEN e.decided_by IS NULL THEN NULL ELSE 'name:' || e.decided_by END;
    -- Four eyes compare subjects now: two keys of one person share a subject, two people may share a name.
    ALTER TABLE exceptions DROP CONSTRAINT exceptions_four_eyes;
    ALTER TABLE exceptions ALTER COLUMN requester_subject SET NOT NULL,
      ADD CONSTRAINT exceptions_four_eyes_subject CHECK (decider_subject IS NULL OR decider_subject <> requester_subject);

    ALTER TABLE remediations ADD COLUMN requester_subject text;
    UPDATE remediations SET requester_subject = CASE WHEN requester_key_id IS NULL THEN 'name:' || requester ELSE 'key:' || requester_key_id END;
    ALTER TABLE remediations ALTER COLUMN requester_subject SET NOT NULL;
    ALTER TABLE remediation_approvals ADD COLUMN approver_subject text;
    UPDATE remediation_approvals SET approver_subject = CASE WHEN approver_key_id IS NULL THEN 'name:' || approver ELSE 'key:' || approver_key_id END;
    ALTER TABLE remediation_approvals ALTER COLUMN approver_subject SET NOT NULL;

    ALTER TABLE access_requests ADD COLUMN requester_subject text, ADD COLUMN decider_subject text;
    UPDATE access_requests SET requester_subject = CASE WHEN requester_key_id IS NULL THEN 'name:' || requester ELSE 'key:' || requester_key_id END,
      decider_subject = CASE WHEN decided_by IS NULL THEN NULL ELSE 'name:' || decided_by END;
    ALTER TABLE access_requests ALTER COLUMN requester_subject SET NOT NULL,
      ADD CONSTRAINT access_requests_four_eyes_subject CHECK (decider_subject IS NULL OR decider_subject <> requester_subject);
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw(`
    ALTER TABLE access_requests DROP COLUMN decider_subject, DROP COLUMN requester_subject;
    ALTER TABLE remediation_approvals DROP COLUMN approver_subject;
    ALTER TABLE remediations DROP COLUMN requester_subject;
    ALTER TABLE exceptions DROP COLUMN decider_subject, DROP COLUMN requester_subject,
      ADD CONSTRAINT exceptions_four_eyes CHECK (decided_by IS NULL OR decided_by <> requested_by);
    ALTER TABLE audit_log DROP COLUMN actor_subject;
    ALTER TABLE api_keys DROP COLUMN subject;
  `);
}
