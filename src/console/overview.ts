import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { CATALOG_READERS } from '../auth/roles.js';
import type { Catalog } from '../controls/catalog.js';
import { controlTimelines } from '../controls/timeline.js';
import { problemResponses } from '../http/problem.js';

const Count = Type.Integer({ minimum: 0 });

const OverviewView = Type.Object(
  {
    open_findings_by_severity: Type.Record(Type.String(), Count, { description: 'open findings (not excepted) per severity' }),
    excepted_findings: Count,
    pass_rate_30d: Type.Array(
      Type.Object({ day: Type.String({ format: 'date' }), rate: Type.Integer({ minimum: 0, maximum: 100 }), controls: Count }),
      { description: 'per day (UTC) of the last 30 with a complete evaluation: the share (%) of all controls whose last evaluation that day passed; days without one are absent (nothing is reported as passing)' },
    ),
    top_failing_rules: Type.Array(Type.Object({ rule_id: Type.String(), severity: Type.String(), open_findings: Count }), { description: 'the 10 rules with most open findings' }),
    waiting: Type.Object(
      {
        exceptions_pending: Count,
        pending_changes_for_me: Type.Integer({ minimum: 0, description: 'pending protection-lowering changes the caller may approve now (not their own, not expired)' }),
        exceptions_expiring_14d: Count,
        remediations_awaiting_approval: Count,
        access_requests_pending: Count,
        grants_expiring_14d: Count,
        reviews_due_30d: Count,
      },
      { description: 'what waits for a person: approvals, expiring exceptions and grants, control reviews due' },
    ),
  },
  { title: 'Overview' },
);

const count = (row: { n?: unknown } | undefined) => Number(row?.n ?? 0);

/**
 * The counts the console's overview shows, in one request of a few indexed aggregate queries (the
 * lists themselves page on the server; this is only how many).
 */
export default async function overviewRoutes(app: FastifyInstance, { catalog }: { catalog: Catalog }) {
  app.get('/v1/overview', {
    config: { roles: CATALOG_READERS },
    schema: { tags: ['evaluation'], summary: 'Counts for the console overview: open findings by severity, top failing rules, what waits for people', response: { 200: OverviewView, ...problemResponses(401, 403) } },
    handler: async (request, reply) => {
      const db = app.db;
      const { role, subject } = request.actor;
      const to = new Date();
      const period = { from: new Date(to.getTime() - 30 * 86_400_000).toISOString(), to: to.toISOString() };
      const [timelines, bySeverity, excepted, top, exceptions, forMe, expiring, remediations, requests, grants, reviews] = await Promise.all([
        // The pass-rate trend in this one request: the console used to ask each control's history.
        controlTimelines(db, catalog.controls, app.policy.rules(), period),
        db('findings').where({ status: 'open' }).groupBy('severity').select('severity').count('* as n'),
        db('findings').where({ status: 'excepted' }).count('* as n').first(),
        db('findings').where({ status: 'open' }).groupBy('rule_id', 'severity').select('rule_id', 'severity').count('* as n').orderBy([{ column: 'n', order: 'desc' }, { column: 'rule_id' }]).limit(10),
        db('exceptions').where({ status: 'pending' }).count('* as n').first(),
        // As GET /v1/pending-changes?can_approve=true counts them: by identity, never the proposer.
        db('pending_changes')
          .where('status', 'pending')
          .where('expires_at', '>', db.fn.now())
          .whereNot('proposer_subject', subject)
          .where((q) => q.whereRaw('approver_roles @> ?::jsonb', [JSON.stringify([role])]).orWhereRaw('approver_subjects @> ?::jsonb', [JSON.stringify([subject])]))
          .count('* as n')
          .first(),
        db('exceptions').where({ status: 'approved' }).whereBetween('expires_at', [db.fn.now(), db.raw(`now() + interval '14 days'`)]).count('* as n').first(),
        db('remediations').where({ status: 'dry_run', approval_required: true }).count('* as n').first(),
        db('access_requests').where({ status: 'pending' }).count('* as n').first(),
        db('access_grants').where({ status: 'active' }).whereBetween('expires_at', [db.fn.now(), db.raw(`now() + interval '14 days'`)]).count('* as n').first(),
        db('compliance_records').where('next_review_date', '<=', db.raw(`current_date + 30`)).count('* as n').first(),
      ]);
      const byDay = new Map<string, Map<string, string>>();
      for (const [control, points] of timelines) {
        for (const point of points) {
          const day = point.at.slice(0, 10);
          if (!byDay.has(day)) byDay.set(day, new Map());
          byDay.get(day)!.set(control, point.status);
        }
      }
      const passRate = [...byDay.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([day, statuses]) => ({
        day,
        rate: Math.round((100 * [...statuses.values()].filter((s) => s === 'passing').length) / Math.max(1, catalog.controls.length)),
        controls: catalog.controls.length,
      }));
      reply.header('cache-control', 'no-store');
      return {
        open_findings_by_severity: Object.fromEntries((bySeverity as Array<{ severity: string; n: unknown }>).map((r) => [r.severity, count(r)])),
        excepted_findings: count(excepted),
        pass_rate_30d: passRate,
        top_failing_rules: (top as Array<{ rule_id: string; severity: string; n: unknown }>).map((r) => ({ rule_id: r.rule_id, severity: r.severity, open_findings: count(r) })),
        waiting: {
          exceptions_pending: count(exceptions),
          pending_changes_for_me: count(forMe),
          exceptions_expiring_14d: count(expiring),
          remediations_awaiting_approval: count(remediations),
          access_requests_pending: count(requests),
          grants_expiring_14d: count(grants),
          reviews_due_30d: count(reviews),
        },
      };
    },
  });
}
