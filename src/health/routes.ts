import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { pendingMigrations } from '../db/database.js';

const Check = Type.Object({ ok: Type.Boolean(), detail: Type.Optional(Type.String()) });
const Readiness = Type.Object({ status: Type.Union([Type.Literal('ready'), Type.Literal('not_ready')]), checks: Type.Record(Type.String(), Check) });

/** Probes for load balancers and orchestrators: no key needed, nothing revealed but up/ready. */
export default async function healthRoutes(app: FastifyInstance) {
  app.get('/healthz', {
    config: { public: true },
    schema: { tags: ['health'], summary: 'The process is up', response: { 200: Type.Object({ status: Type.Literal('ok') }) } },
    handler: async () => ({ status: 'ok' as const }),
  });

  app.get('/readyz', {
    config: { public: true },
    schema: { tags: ['health'], summary: 'Ready to serve: database reachable, migrations current, policy bundle loaded', response: { 200: Readiness, 503: Readiness } },
    handler: async (_request, reply) => {
      const checks: Record<string, { ok: boolean; detail?: string }> = {};
      try {
        await app.db.raw('SELECT 1');
        checks.database = { ok: true };
        const pending = await pendingMigrations(app.db);
        checks.migrations = pending.length === 0 ? { ok: true } : { ok: false, detail: `pending: ${pending.join(', ')}` };
      } catch {
        checks.database = { ok: false, detail: 'database unreachable' };
      }
      checks.policy = app.policy.ready ? { ok: true } : { ok: false, detail: app.policy.lastError ?? 'no policy bundle loaded' };
      const ready = Object.values(checks).every((c) => c.ok) && checks.migrations !== undefined;
      return reply.code(ready ? 200 : 503).send({ status: ready ? 'ready' : 'not_ready', checks });
    },
  });
}
