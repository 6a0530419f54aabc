import type { FastifyBaseLogger, FastifyInstance } from 'fastify';
import type { Knex } from 'knex';
import type { QueueDefinition } from '../../jobs/queue.js';

/** What the grant workflow needs from the service to run its jobs. */
export interface GrantJobContext {
  db: Knex;
  log: FastifyBaseLogger;
  awsEndpointUrl?: string;
  awsMaxAttempts: number;
}

/** Durable jobs of the grant workflow (apply, revoke, expiry sweep). Placeholder until implemented. */
export function grantQueues(_context: GrantJobContext): QueueDefinition[] {
  return [];
}

/** Cron schedules of the grant workflow: { queue, cron }. */
export const grantSchedules: Array<{ queue: string; cron: string }> = [];

/** Routes of the grant workflow (/v1/access/requests, /v1/access/grants, /v1/access/reconcile). */
export default async function grantRoutes(_app: FastifyInstance): Promise<void> {}
