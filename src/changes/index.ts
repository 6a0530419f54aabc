import fp from 'fastify-plugin';
import type { QueueDefinition } from '../jobs/queue.js';
import type { Knex } from 'knex';
import { CHANGE_EXPIRY_QUEUE, expirePendingChanges } from './expiry.js';
import { ChangeKinds } from './gate.js';

export { guardedChange, stale, BREAK_GLASS_HEADER, type ChangeKind, type ChangeTarget, type Inspection } from './gate.js';
export { sendOutcome } from './routes.js';
export { PendingChange } from './schemas.js';
export type { Approvers } from './store.js';
export { expirePendingChanges, CHANGE_EXPIRY_QUEUE } from './expiry.js';

/** Each app instance's registry of change kinds, filled by the routes that guard changes. */
export const changeKindsPlugin = fp(
  async (app) => {
    app.decorate('changeKinds', new ChangeKinds());
  },
  { name: 'change-kinds' },
);

/** The durable expiry sweep of pending changes (every minute; idempotent). */
export const changeQueues = (db: Knex): QueueDefinition[] => [{ name: CHANGE_EXPIRY_QUEUE, expireInSeconds: 600, handler: async () => void (await expirePendingChanges(db)) }];
export const changeSchedules: Array<{ queue: string; cron: string }> = [{ queue: CHANGE_EXPIRY_QUEUE, cron: '* * * * *' }];

export { default } from './routes.js';
