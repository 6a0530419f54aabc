import type { Knex } from 'knex';

/**
 * The decision log grows with every pipeline read, so it is partitioned by month of `at`: old
 * months are dropped whole by the retention job (no DELETE, which the table refuses anyway), and a
 * month's rows stay together on disk. A DEFAULT partition catches anything outside the prepared
 * months, so an insert never fails for want of a partition.
 *
 * Partitions are created and dropped by two SECURITY DEFINER functions owned by the migrating role,
 * so the service needs no DDL rights of its own; the drop function refuses to drop anything younger
 * than 90 days, whoever calls it.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    ALTER TABLE decision_log RENAME TO decision_log_unpartitioned;
    ALTER TABLE decision_log_unpartitioned RENAME CONSTRAINT decision_log_pk TO decision_log_unpartitioned_pk;
    ALTER TABLE decision_log_unpartitioned RENAME CONSTRAINT decision_log_bundle_fk TO decision_log_unpartitioned_bundle_fk;
    ALTER INDEX decision_log_at_idx RENAME TO decision_log_unpartitioned_at_idx;
    ALTER INDEX decision_log_bundle_idx RENAME TO decision_log_unpartitioned_bundle_idx;

    -- LIKE: the same columns as the table it replaces, whatever earlier migrations added to it.
    CREATE TABLE decision_log (
      LIKE decision_log_unpartitioned INCLUDING DEFAULTS,
      CONSTRAINT decision_log_bundle_fk FOREIGN KEY (bundle_id) REFERENCES policy_bundles (id) ON DELETE RESTRICT,
      -- A partitioned table's keys include the partition column; ids are UUIDv7, unique on their own.
      CONSTRAINT decision_log_pk PRIMARY KEY (id, at)
    ) PARTITION BY RANGE (at);
    CREATE INDEX decision_log_at_idx ON decision_log (at);
    CREATE INDEX decision_log_bundle_idx ON decision_log (bundle_revision, id);
    CREATE TABLE decision_log_default PARTITION OF decision_log DEFAULT;
    ALTER INDEX decision_log_default_pkey RENAME TO decision_log_default_pk;

    -- Row triggers on a partitioned table apply to every partition; TRUNCATE triggers do not, so
    -- each partition gets its own. The message names the log, not the partition the row is in.
    CREATE FUNCTION refuse_decision_log_change() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      RAISE EXCEPTION 'decision_log is append-only: % refused (partition %)', TG_OP, TG_TABLE_NAME USING ERRCODE = 'insufficient_privilege';
    END
    $$;
    CREATE TRIGGER decision_log_no_update_or_delete BEFORE UPDATE OR DELETE ON decision_log
      FOR EACH ROW EXECUTE FUNCTION refuse_decision_log_change();
    CREATE TRIGGER decision_log_no_truncate BEFORE TRUNCATE ON decision_log
      FOR EACH STATEMENT EXECUTE FUNCTION refuse_decision_log_change();
    CREATE TRIGGER decision_log_default_no_truncate BEFORE TRUNCATE ON decision_log_default
      FOR EACH STATEMENT EXECUTE FUNCTION refuse_decision_log_change();

    -- Monthly partitions from the month of 'since' up to 'months_ahead' months after now. Idempotent.
    CREATE FUNCTION decision_log_prepare_partitions(since timestamptz, months_ahead integer) RETURNS integer
    LANGUAGE plpgsql SECURITY DEFINER SET search_path FROM CURRENT AS $$
    DECLARE
      month date := date_trunc('month', since AT TIME ZONE 'UTC')::date;
      last date := (date_trunc('month', now() AT TIME ZONE 'UTC') + make_interval(months => least(greatest(months_ahead, 0), 24)))::date;
      name text;
      created integer := 0;
    BEGIN
      WHILE month <= last LOOP
        name := 'decision_log_' || to_char(month, 'YYYY_MM');
        IF to_regclass(name) IS NULL THEN
          EXECUTE format(
            'CREATE TABLE %I PARTITION OF decision_log FOR VALUES FROM (%L) TO (%L)',
            name, (month::timestamp AT TIME ZONE 'UTC'), ((month + interval '1 month')::timestamp AT TIME ZONE 'UTC'));
          -- Named like every other constraint rather than PostgreSQL's generated <table>_pkey.
          EXECUTE format('ALTER INDEX %I RENAME TO %I', name || '_pkey', name || '_pk');
          EXECUTE format('CREATE TRIGGER %I BEFORE TRUNCATE ON %I FOR EACH STATEMENT EXECUTE FUNCTION refuse_decision_log_change()', name || '_no_truncate', name);
          created := created + 1;
        END IF;
        month := (month + interval '1 month')::date;
      END LOOP;
      RETURN created;
    END
    $$;

    -- Drops the monthly partitions that end on or before 'cutoff' (never one younger than 90 days);
    -- returns each dropped partition with its row count, for the audit log.
    CREATE FUNCTION decision_log_drop_partitions(cutoff timestamptz) RETURNS TABLE (partition text, decisions bigint)
    LANGUAGE plpgsql SECURITY DEFINER SET search_path FROM CURRENT AS $$
    DECLARE
      part record;
    BEGIN
      IF cutoff > now() - interval '90 days' THEN
        RAISE EXCEPTION 'decision log retention: refusing to drop decisions younger than 90 days (cutoff %)', cutoff
          USING ERRCODE = 'insufficient_privilege';
      END IF;
      FOR part IN
        SELECT c.relname,
               (regexp_match(pg_get_expr(c.relpartbound, c.oid), 'TO \\(''([^'']+)''\\)'))[1]::timestamptz AS upper_bound
        FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
        WHERE i.inhparent = 'decision_log'::regclass AND c.relname ~ '^decision_log_[0-9]{4}_[0-9]{2}$'
        ORDER BY c.relname
      LOOP
        IF part.upper_bound <= cutoff THEN
          EXECUTE format('SELECT count(*) FROM %I', part.relname) INTO decisions;
          EXECUTE format('ALTER TABLE decision_log DETACH PARTITION %I', part.relname);
          EXECUTE format('DROP TABLE %I', part.relname);
          partition := part.relname;
          RETURN NEXT;
        END IF;
      END LOOP;
    END
    $$;

    SELECT decision_log_prepare_partitions(coalesce((SELECT min(at) FROM decision_log_unpartitioned), now()), 3);
    INSERT INTO decision_log SELECT * FROM decision_log_unpartitioned;
    DROP TABLE decision_log_unpartitioned;
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw(`
    DROP FUNCTION decision_log_drop_partitions(timestamptz);
    DROP FUNCTION decision_log_prepare_partitions(timestamptz, integer);
    CREATE TABLE decision_log_unpartitioned (LIKE decision_log INCLUDING DEFAULTS);
    INSERT INTO decision_log_unpartitioned SELECT * FROM decision_log;
    DROP TABLE decision_log;
    DROP FUNCTION refuse_decision_log_change();
    ALTER TABLE decision_log_unpartitioned RENAME TO decision_log;
    ALTER TABLE decision_log ADD CONSTRAINT decision_log_pk PRIMARY KEY (id);
    ALTER TABLE decision_log ADD CONSTRAINT decision_log_bundle_fk FOREIGN KEY (bundle_id) REFERENCES policy_bundles (id) ON DELETE RESTRICT;
    CREATE INDEX decision_log_at_idx ON decision_log (at);
    CREATE INDEX decision_log_bundle_idx ON decision_log (bundle_revision, id);
    CREATE TRIGGER decision_log_no_update_or_delete BEFORE UPDATE OR DELETE ON decision_log
      FOR EACH ROW EXECUTE FUNCTION refuse_change();
    CREATE TRIGGER decision_log_no_truncate BEFORE TRUNCATE ON decision_log
      FOR EACH STATEMENT EXECUTE FUNCTION refuse_change();
  `);
}
