import type { Knex } from 'knex';

/**
 * A dead-lettered notification can be retried (POST /v1/notifications/:id/retry). Its attempts keep
 * their numbers in the delivery log, so a retry raises the notification's own attempt limit instead
 * of resetting its count: null means the configured limit (CUSTOS_ALERT_DELIVERY_ATTEMPTS).
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    ALTER TABLE alert_notifications ADD COLUMN max_attempts integer
      CONSTRAINT alert_notifications_max_attempts_positive CHECK (max_attempts IS NULL OR max_attempts > 0)
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('ALTER TABLE alert_notifications DROP COLUMN max_attempts');
}
