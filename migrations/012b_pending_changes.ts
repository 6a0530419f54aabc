import type { Knex } from 'knex';

/**
 * Pending changes (four-eyes): a change that lowers protection waits here until a second person
 * approves it; an admin's break-glass change is recorded here too, already applied. The audit log
 * links each entity change to its pending change and flags break-glass changes with their reason;
 * evidence items of kind `change` record them for CC8.1.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    CREATE TABLE pending_changes (
      id uuid CONSTRAINT pending_changes_pk PRIMARY KEY,
      kind text NOT NULL,
      entity text NOT NULL,
      entity_id text NOT NULL,
      base_version integer,
      payload jsonb NOT NULL,
      summary text NOT NULL,
      reasons jsonb NOT NULL,
      status text NOT NULL CONSTRAINT pending_changes_status_valid
        CHECK (status IN ('pending', 'applied', 'rejected', 'withdrawn', 'expired')),
      approver_roles jsonb NOT NULL,
      approver_subjects jsonb NOT NULL DEFAULT '[]',
      proposed_by text NOT NULL,
      proposer_subject text NOT NULL,
      proposer_role text NOT NULL,
      proposed_at timestamptz NOT NULL DEFAULT now(),
      expires_at timestamptz NOT NULL,
      break_glass_reason text,
      decided_by text,
      decider_subject text,
      decided_at timestamptz,
      decision_note text,
      version integer NOT NULL DEFAULT 1,
      created_at timestamptz NOT NULL DEFAULT now(),
      updated_at timestamptz NOT NULL DEFAULT now(),
      CONSTRAINT pending_changes_decision_complete CHECK ((status = 'pending') = (decider_subject IS NULL)),
      -- Applied or rejected by someone else than the proposer, except an admin's break-glass change.
      CONSTRAINT pending_changes_four_eyes
        CHECK (status NOT IN ('applied', 'rejected') OR decider_subject <> proposer_subject OR (status = 'applied' AND break_glass_reason IS NOT NULL)),
      CONSTRAINT pending_changes_break_glass_reason_length CHECK (break_glass_reason IS NULL OR char_length(break_glass_reason) BETWEEN 10 AND 1000)
    );
    CREATE INDEX pending_changes_status_idx ON pending_changes (status, id);
    CREATE INDEX pending_changes_entity_idx ON pending_changes (entity, entity_id, id);

    ALTER TABLE audit_log ADD COLUMN pending_change_id uuid, ADD COLUMN break_glass_reason text;

  `);
  await setEvidenceKinds(knex, (kinds) => [...new Set([...kinds, 'change'])]);
}

/** Rewrites the evidence kind check from the kinds in force, so other migrations' kinds are kept. */
async function setEvidenceKinds(knex: Knex, change: (kinds: string[]) => string[]): Promise<void> {
  const { rows } = await knex.raw(`SELECT pg_get_constraintdef(oid) AS def FROM pg_constraint WHERE conname = 'evidence_items_kind_valid'`);
  const kinds = change([...String(rows[0]?.def ?? '').matchAll(/'([a-z_]+)'/g)].map((m) => m[1]!));
  await knex.raw(`ALTER TABLE evidence_items DROP CONSTRAINT evidence_items_kind_valid`);
  await knex.raw(`ALTER TABLE evidence_items ADD CONSTRAINT evidence_items_kind_valid CHECK (kind IN (${kinds.map((k) => `'${k}'`).join(', ')}))`);
}

export async function down(knex: Knex): Promise<void> {
  await setEvidenceKinds(knex, (kinds) => kinds.filter((k) => k !== 'change'));
  await knex.raw(`
    ALTER TABLE audit_log DROP COLUMN break_glass_reason, DROP COLUMN pending_change_id;
    DROP TABLE pending_changes;
  `);
}
