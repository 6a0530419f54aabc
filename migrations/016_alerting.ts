import type { Knex } from 'knex';

/**
 * Alerts that are evaluated and delivered (issue 16): window, dimension filter, grouping and
 * re-notification on the alert configuration; per-channel signing secrets; fired alerts (one open
 * per configuration and dimension key); the notification outbox and its delivery attempts; and the
 * metric values other capabilities push (counters per minute, gauges).
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    ALTER TABLE alerts
      ADD COLUMN window_minutes integer CONSTRAINT alerts_window_minutes_range CHECK (window_minutes BETWEEN 1 AND 527040),
      ADD COLUMN dimension_filter jsonb NOT NULL DEFAULT '{}'::jsonb,
      ADD COLUMN group_by jsonb,
      ADD COLUMN renotify_minutes integer CONSTRAINT alerts_renotify_minutes_range CHECK (renotify_minutes BETWEEN 1 AND 43200);

    CREATE TABLE alert_channel_secrets (
      channel_id uuid CONSTRAINT alert_channel_secrets_pk PRIMARY KEY,
      alert_id uuid NOT NULL CONSTRAINT alert_channel_secrets_alert_fk REFERENCES alerts (id) ON DELETE CASCADE,
      secret text NOT NULL,
      previous_secret text,
      previous_valid_until timestamptz,
      created_at timestamptz NOT NULL DEFAULT now(),
      rotated_at timestamptz
    );

    CREATE TABLE alert_events (
      id uuid CONSTRAINT alert_events_pk PRIMARY KEY,
      alert_id uuid CONSTRAINT alert_events_alert_fk REFERENCES alerts (id) ON DELETE SET NULL,
      alert_name text NOT NULL,
      metric text NOT NULL,
      severity text NOT NULL,
      dimension_key text NOT NULL,
      dimensions jsonb NOT NULL,
      state text NOT NULL CONSTRAINT alert_events_state_valid CHECK (state IN ('open', 'resolved', 'closed')),
      value numeric NOT NULL,
      threshold numeric NOT NULL,
      comparison text NOT NULL,
      links jsonb NOT NULL DEFAULT '[]'::jsonb,
      opened_at timestamptz NOT NULL DEFAULT now(),
      resolved_at timestamptz,
      last_notified_at timestamptz,
      notifications integer NOT NULL DEFAULT 0,
      muted_until timestamptz,
      mute_reason text,
      muted_by text,
      history jsonb NOT NULL DEFAULT '[]'::jsonb,
      CONSTRAINT alert_events_resolution CHECK ((state = 'open') = (resolved_at IS NULL))
    );
    CREATE UNIQUE INDEX alert_events_one_open ON alert_events (alert_id, dimension_key) WHERE state = 'open';
    CREATE INDEX alert_events_state_idx ON alert_events (state, id);
    CREATE INDEX alert_events_alert_idx ON alert_events (alert_id, id);

    CREATE TABLE alert_notifications (
      id uuid CONSTRAINT alert_notifications_pk PRIMARY KEY,
      message_id text NOT NULL,
      kind text NOT NULL CONSTRAINT alert_notifications_kind_valid CHECK (kind IN ('fired', 'renotified', 'resolved', 'test')),
      alert_id uuid CONSTRAINT alert_notifications_alert_fk REFERENCES alerts (id) ON DELETE SET NULL,
      alert_event_id uuid CONSTRAINT alert_notifications_event_fk REFERENCES alert_events (id) ON DELETE CASCADE,
      channel_id uuid NOT NULL,
      channel jsonb NOT NULL,
      channel_type text NOT NULL,
      payload jsonb NOT NULL,
      status text NOT NULL CONSTRAINT alert_notifications_status_valid CHECK (status IN ('pending', 'delivered', 'dead')),
      attempts integer NOT NULL DEFAULT 0,
      next_attempt_at timestamptz NOT NULL DEFAULT now(),
      last_error text,
      created_at timestamptz NOT NULL DEFAULT now(),
      delivered_at timestamptz,
      CONSTRAINT alert_notifications_message_channel_unique UNIQUE (message_id, channel_id)
    );
    CREATE INDEX alert_notifications_pending_idx ON alert_notifications (next_attempt_at) WHERE status = 'pending';
    CREATE INDEX alert_notifications_event_idx ON alert_notifications (alert_event_id, id);

    CREATE TABLE alert_delivery_attempts (
      id uuid CONSTRAINT alert_delivery_attempts_pk PRIMARY KEY,
      notification_id uuid NOT NULL CONSTRAINT alert_delivery_attempts_notification_fk REFERENCES alert_notifications (id) ON DELETE CASCADE,
      attempt integer NOT NULL,
      channel_type text NOT NULL,
      status text NOT NULL CONSTRAINT alert_delivery_attempts_status_valid CHECK (status IN ('delivered', 'failed', 'timeout', 'refused')),
      response_code integer,
      latency_ms integer NOT NULL,
      error text,
      at timestamptz NOT NULL DEFAULT now(),
      CONSTRAINT alert_delivery_attempts_unique UNIQUE (notification_id, attempt)
    );

    CREATE TABLE alert_metric_counts (
      metric text NOT NULL,
      bucket timestamptz NOT NULL,
      dimension_key text NOT NULL,
      dimensions jsonb NOT NULL,
      num bigint NOT NULL,
      den bigint NOT NULL,
      CONSTRAINT alert_metric_counts_pk PRIMARY KEY (metric, bucket, dimension_key)
    );

    CREATE TABLE alert_metric_values (
      metric text NOT NULL,
      dimension_key text NOT NULL,
      dimensions jsonb NOT NULL,
      value numeric NOT NULL,
      links jsonb NOT NULL DEFAULT '[]'::jsonb,
      observed_at timestamptz NOT NULL DEFAULT now(),
      CONSTRAINT alert_metric_values_pk PRIMARY KEY (metric, dimension_key)
    );

    -- Every audited change (an approval requested or decided, an exception, a catalog change...) asks
    -- for an alert evaluation once its transaction commits; NOTIFY folds duplicates within one.
    CREATE FUNCTION alerts_notify_change() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      PERFORM pg_notify('custos_alerts', NEW.entity);
      RETURN NULL;
    END
    $$;
    CREATE TRIGGER audit_log_alerts AFTER INSERT ON audit_log FOR EACH ROW EXECUTE FUNCTION alerts_notify_change();

    -- Channels stored before channels had ids get one (their webhook secrets are generated here and
    -- must be rotated to be known: POST /v1/alerts/:id/channels/:channelId/rotate-secret).
    UPDATE alerts SET notification_channels = (
      SELECT jsonb_agg(c || jsonb_build_object('id', gen_random_uuid())) FROM jsonb_array_elements(notification_channels) c);
    INSERT INTO alert_channel_secrets (channel_id, alert_id, secret)
      SELECT (c->>'id')::uuid, a.id,
             'whsec_' || encode(decode(replace(gen_random_uuid()::text, '-', '') || replace(gen_random_uuid()::text, '-', ''), 'hex'), 'base64')
      FROM alerts a, jsonb_array_elements(a.notification_channels) c WHERE c->>'type' = 'webhook';
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw(`
    DROP TRIGGER audit_log_alerts ON audit_log;
    DROP FUNCTION alerts_notify_change();
    DROP TABLE alert_metric_values;
    DROP TABLE alert_metric_counts;
    DROP TABLE alert_delivery_attempts;
    DROP TABLE alert_notifications;
    DROP TABLE alert_events;
    DROP TABLE alert_channel_secrets;
    ALTER TABLE alerts DROP COLUMN renotify_minutes, DROP COLUMN group_by, DROP COLUMN dimension_filter, DROP COLUMN window_minutes;
  `);
}
