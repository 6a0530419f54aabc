import type { Knex } from 'knex';

/**
 * `evaluation_findings` keeps its references to `evaluations` and `findings` with the same guarantees
 * as the foreign keys it had, checked once per statement instead of once per row.
 *
 * Why: an evaluation writes one membership row per finding it reports (23,500 in bench:evaluate,
 * every one of them again in an incremental evaluation that carries the base's verdicts over). Each
 * foreign key checked each row with a query of its own: in `EXPLAIN ANALYZE` of the carry-over on the
 * benchmark's database the two checks took 0.49 s of a 1.47 s statement. Checked per statement, the
 * whole inserted set is joined against its parents at once: in the benchmark's own carry-over, the
 * triggers took 0.10 s instead of 0.32 s, and the statement 1.16 s instead of 1.61 s.
 *
 * What stays the same (tested in test/db/membership-references.test.ts):
 * - an inserted or updated row whose evaluation or finding does not exist fails the statement with
 *   SQLSTATE 23503 and the constraint names the foreign keys had (`evaluation_findings_evaluation_fk`,
 *   `evaluation_findings_finding_fk`), so src/db/errors.ts reads it as before;
 * - the referenced rows are locked FOR KEY SHARE, as a foreign key locks them, so that a concurrent
 *   delete waits for the inserting transaction and then removes its rows too;
 * - deleting an evaluation or a finding deletes its membership rows (ON DELETE CASCADE before);
 * - an evaluation's or a finding's id cannot change while a membership row refers to it.
 * The runtime role owns no table (src/db/roles.ts), so it cannot disable these triggers, as it could
 * not drop the foreign keys. TRUNCATE (the owner's alone) no longer refuses a parent whose children
 * remain; nothing truncates these tables.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    ALTER TABLE evaluation_findings
      DROP CONSTRAINT evaluation_findings_evaluation_fk,
      DROP CONSTRAINT evaluation_findings_finding_fk;

    CREATE FUNCTION evaluation_findings_references_exist() RETURNS trigger LANGUAGE plpgsql AS $$
    DECLARE
      wanted bigint;
      locked bigint;
      missing uuid;
    BEGIN
      -- Locked as a foreign key locks them (FOR KEY SHARE): a delete of one waits for this
      -- transaction, and a row deleted by a transaction that committed meanwhile is not counted.
      SELECT count(DISTINCT evaluation_id) INTO wanted FROM added;
      SELECT count(*) INTO locked FROM (SELECT 1 FROM evaluations e WHERE e.id IN (SELECT evaluation_id FROM added) FOR KEY SHARE) l;
      IF locked < wanted THEN
        SELECT a.evaluation_id INTO missing FROM added a WHERE NOT EXISTS (SELECT 1 FROM evaluations e WHERE e.id = a.evaluation_id) LIMIT 1;
        RAISE EXCEPTION 'insert or update on table "evaluation_findings" violates foreign key constraint "evaluation_findings_evaluation_fk"'
          USING ERRCODE = 'foreign_key_violation', CONSTRAINT = 'evaluation_findings_evaluation_fk', TABLE = 'evaluation_findings',
                DETAIL = format('Key (evaluation_id)=(%s) is not present in table "evaluations".', missing);
      END IF;
      SELECT count(DISTINCT finding_id) INTO wanted FROM added;
      SELECT count(*) INTO locked FROM (SELECT 1 FROM findings f WHERE f.id IN (SELECT finding_id FROM added) FOR KEY SHARE) l;
      IF locked < wanted THEN
        SELECT a.finding_id INTO missing FROM added a WHERE NOT EXISTS (SELECT 1 FROM findings f WHERE f.id = a.finding_id) LIMIT 1;
        RAISE EXCEPTION 'insert or update on table "evaluation_findings" violates foreign key constraint "evaluation_findings_finding_fk"'
          USING ERRCODE = 'foreign_key_violation', CONSTRAINT = 'evaluation_findings_finding_fk', TABLE = 'evaluation_findings',
                DETAIL = format('Key (finding_id)=(%s) is not present in table "findings".', missing);
      END IF;
      RETURN NULL;
    END $$;
    -- A statement trigger with a transition table has one event: one for inserts, one for updates.
    CREATE TRIGGER evaluation_findings_references_on_insert AFTER INSERT ON evaluation_findings
      REFERENCING NEW TABLE AS added FOR EACH STATEMENT EXECUTE FUNCTION evaluation_findings_references_exist();
    CREATE TRIGGER evaluation_findings_references_on_update AFTER UPDATE ON evaluation_findings
      REFERENCING NEW TABLE AS added FOR EACH STATEMENT EXECUTE FUNCTION evaluation_findings_references_exist();

    -- ON DELETE CASCADE, per statement.
    CREATE FUNCTION evaluation_findings_cascade_evaluations() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      DELETE FROM evaluation_findings WHERE evaluation_id IN (SELECT id FROM gone);
      RETURN NULL;
    END $$;
    CREATE TRIGGER evaluations_cascade_membership AFTER DELETE ON evaluations
      REFERENCING OLD TABLE AS gone FOR EACH STATEMENT EXECUTE FUNCTION evaluation_findings_cascade_evaluations();
    CREATE FUNCTION evaluation_findings_cascade_findings() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      DELETE FROM evaluation_findings WHERE finding_id IN (SELECT id FROM gone);
      RETURN NULL;
    END $$;
    CREATE TRIGGER findings_cascade_membership AFTER DELETE ON findings
      REFERENCING OLD TABLE AS gone FOR EACH STATEMENT EXECUTE FUNCTION evaluation_findings_cascade_findings();

    -- ON UPDATE NO ACTION: a referenced id does not change.
    CREATE FUNCTION evaluation_findings_referenced_id_fixed() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      IF EXISTS (SELECT 1 FROM evaluation_findings m WHERE (TG_TABLE_NAME = 'evaluations' AND m.evaluation_id = OLD.id) OR (TG_TABLE_NAME = 'findings' AND m.finding_id = OLD.id)) THEN
        RAISE EXCEPTION 'update on table "%" violates foreign key constraint "%" on table "evaluation_findings"', TG_TABLE_NAME,
            CASE TG_TABLE_NAME WHEN 'evaluations' THEN 'evaluation_findings_evaluation_fk' ELSE 'evaluation_findings_finding_fk' END
          USING ERRCODE = 'foreign_key_violation',
                CONSTRAINT = CASE TG_TABLE_NAME WHEN 'evaluations' THEN 'evaluation_findings_evaluation_fk' ELSE 'evaluation_findings_finding_fk' END,
                DETAIL = format('Key (id)=(%s) is still referenced from table "evaluation_findings".', OLD.id);
      END IF;
      RETURN NEW;
    END $$;
    CREATE TRIGGER evaluations_id_fixed BEFORE UPDATE OF id ON evaluations
      FOR EACH ROW WHEN (OLD.id IS DISTINCT FROM NEW.id) EXECUTE FUNCTION evaluation_findings_referenced_id_fixed();
    CREATE TRIGGER findings_id_fixed BEFORE UPDATE OF id ON findings
      FOR EACH ROW WHEN (OLD.id IS DISTINCT FROM NEW.id) EXECUTE FUNCTION evaluation_findings_referenced_id_fixed();
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw(`
    DROP TRIGGER findings_id_fixed ON findings;
    DROP TRIGGER evaluations_id_fixed ON evaluations;
    DROP FUNCTION evaluation_findings_referenced_id_fixed();
    DROP TRIGGER findings_cascade_membership ON findings;
    DROP FUNCTION evaluation_findings_cascade_findings();
    DROP TRIGGER evaluations_cascade_membership ON evaluations;
    DROP FUNCTION evaluation_findings_cascade_evaluations();
    DROP TRIGGER evaluation_findings_references_on_update ON evaluation_findings;
    DROP TRIGGER evaluation_findings_references_on_insert ON evaluation_findings;
    DROP FUNCTION evaluation_findings_references_exist();
    ALTER TABLE evaluation_findings
      ADD CONSTRAINT evaluation_findings_evaluation_fk FOREIGN KEY (evaluation_id) REFERENCES evaluations (id) ON DELETE CASCADE,
      ADD CONSTRAINT evaluation_findings_finding_fk FOREIGN KEY (finding_id) REFERENCES findings (id) ON DELETE CASCADE;
  `);
}
