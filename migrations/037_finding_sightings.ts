import type { Knex } from 'knex';

/**
 * When a finding was last seen and by which evaluation move out of `findings` into a narrow table of
 * their own, `finding_sightings`, one row per finding.
 *
 * Why: every evaluation updates those two values for every finding it reports. An incremental
 * evaluation does it in one statement over every verdict it carries over (23,400 in bench:evaluate),
 * and PostgreSQL writes a new version of each whole row: about 1.2 KB for a finding, 760 B of it the
 * rule's metadata. That UPDATE took 670-770 ms on the benchmark's database; the same UPDATE of a
 * table holding only these two values took 210 ms, foreign key checks included. The carry-over runs
 * while the changed items are judged, and it was the longer of the two branches.
 *
 * What stays the same:
 * - every finding has exactly one sighting: a statement trigger on `findings` inserts it with the
 *   finding (a new finding was last seen when it was first seen, by the evaluation that first saw
 *   it), so no insert path can forget it; it goes with its finding (ON DELETE CASCADE); the runtime
 *   role may not delete one (src/db/roles.ts);
 * - `last_evaluation_id` references `evaluations`, as it did on `findings` (same constraint name,
 *   so errors read as before);
 * - readers join the two (src/evaluation/findings-repository.ts, src/evidence/export.ts): the API
 *   and the evidence export show the same fields.
 * Half of each page is left free, so an update stays on its page (HOT) and touches no index.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    CREATE TABLE finding_sightings (
      finding_id uuid CONSTRAINT finding_sightings_pk PRIMARY KEY
        CONSTRAINT finding_sightings_finding_fk REFERENCES findings (id) ON DELETE CASCADE,
      last_seen_at timestamptz NOT NULL,
      last_evaluation_id uuid
    ) WITH (fillfactor = 50);
    INSERT INTO finding_sightings (finding_id, last_seen_at, last_evaluation_id)
      SELECT id, last_seen_at, last_evaluation_id FROM findings;
    ALTER TABLE findings DROP COLUMN last_seen_at, DROP COLUMN last_evaluation_id;
    ALTER TABLE finding_sightings ADD CONSTRAINT findings_last_evaluation_fk FOREIGN KEY (last_evaluation_id) REFERENCES evaluations (id);

    CREATE FUNCTION add_finding_sightings() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      INSERT INTO finding_sightings (finding_id, last_seen_at, last_evaluation_id)
        SELECT id, first_seen_at, first_evaluation_id FROM added;
      RETURN NULL;
    END
    $$;
    CREATE TRIGGER findings_add_sightings AFTER INSERT ON findings
      REFERENCING NEW TABLE AS added FOR EACH STATEMENT EXECUTE FUNCTION add_finding_sightings();
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw(`
    DROP TRIGGER findings_add_sightings ON findings;
    DROP FUNCTION add_finding_sightings();
    ALTER TABLE findings ADD COLUMN last_seen_at timestamptz, ADD COLUMN last_evaluation_id uuid;
    UPDATE findings f SET last_seen_at = s.last_seen_at, last_evaluation_id = s.last_evaluation_id
      FROM finding_sightings s WHERE s.finding_id = f.id;
    DROP TABLE finding_sightings;
    ALTER TABLE findings ALTER COLUMN last_seen_at SET NOT NULL;
    ALTER TABLE findings ADD CONSTRAINT findings_last_evaluation_fk FOREIGN KEY (last_evaluation_id) REFERENCES evaluations (id);
  `);
}
