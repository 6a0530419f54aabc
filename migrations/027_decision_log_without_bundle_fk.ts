import type { Knex } from 'knex';

/**
 * The decision log is the hottest insert in Custos (every pipeline read). Its foreign key to
 * policy_bundles ran a referential-integrity query per logged row and locked the bundle's row
 * FOR KEY SHARE each time: about a quarter of PostgreSQL's CPU per decision in `npm run
 * bench:access`'s batches. What the key guarded (a logged decision naming a bundle that no longer
 * exists) is kept by refusing to delete bundles at all: they are history, like the log that cites
 * them, and nothing in Custos deletes one. The trigger holds for every role, the owner included;
 * the runtime role also loses DELETE and TRUNCATE on the table (src/db/roles.ts).
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    ALTER TABLE decision_log DROP CONSTRAINT decision_log_bundle_fk;
    CREATE FUNCTION refuse_policy_bundle_delete() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      RAISE EXCEPTION 'policy_bundles keeps every bundle (decisions and evaluations cite them): % refused', TG_OP USING ERRCODE = 'insufficient_privilege';
    END
    $$;
    CREATE TRIGGER policy_bundles_no_delete BEFORE DELETE ON policy_bundles
      FOR EACH ROW EXECUTE FUNCTION refuse_policy_bundle_delete();
    CREATE TRIGGER policy_bundles_no_truncate BEFORE TRUNCATE ON policy_bundles
      FOR EACH STATEMENT EXECUTE FUNCTION refuse_policy_bundle_delete();
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw(`
    DROP TRIGGER policy_bundles_no_truncate ON policy_bundles;
    DROP TRIGGER policy_bundles_no_delete ON policy_bundles;
    DROP FUNCTION refuse_policy_bundle_delete();
    ALTER TABLE decision_log ADD CONSTRAINT decision_log_bundle_fk FOREIGN KEY (bundle_id) REFERENCES policy_bundles (id) ON DELETE RESTRICT;
  `);
}
