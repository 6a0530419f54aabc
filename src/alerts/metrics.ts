import type { Knex } from 'knex';
import { verifyChain } from '../evidence/chain.js';

/** Where an alert's reader goes next: the finding, control, approval... (an API path; made absolute in messages). */
export interface Link {
  rel: string;
  href: string;
}

/**
 * One value of a metric for one combination of its dimensions. Values are sums of `num` (and, for a
 * ratio, `den`) so that grouping by fewer dimensions can add them up.
 */
export interface Observation {
  dimensions: Record<string, string>;
  num: number;
  den?: number;
  links: Link[];
}

export interface MetricContext {
  db: Knex;
  now: Date;
  /** The window of the alert being evaluated, in minutes (the metric's default when unset). */
  windowMinutes: number;
  /** Control statuses as GET /v1/controls computes them (injected: the controls capability owns them). */
  controlStatuses(): Promise<Array<{ id: string; status: string }>>;
}

export type Unit = 'count' | 'ratio' | 'flag';

export interface MetricDefinition {
  name: string;
  description: string;
  unit: Unit;
  dimensions: string[];
  /** What the alert's window means for this metric, and its default (minutes); absent: no window. */
  window?: { meaning: string; defaultMinutes: number };
  /** The events after which it is re-evaluated (besides the schedule). */
  events: string[];
  /** How often it is evaluated on a schedule: every minute, or hourly for expensive ones. */
  schedule: 'minute' | 'hourly';
  compute(context: MetricContext): Promise<Observation[]>;
}

/** Metric names of values pushed from outside the alerts capability (see recordMetricValue). */
export const DATA_QUALITY_FAILURES = 'data_quality.failures';
/** Counter of access decisions (denied in num, all in den), kept per minute by the decision hook. */
export const ACCESS_DECISIONS_COUNTER = 'access.decisions';

const LINK_LIMIT = 20;
const minutesAgo = (context: MetricContext, minutes = context.windowMinutes) => new Date(context.now.getTime() - minutes * 60_000);
const minutesAhead = (context: MetricContext) => new Date(context.now.getTime() + context.windowMinutes * 60_000);
const ids = (value: unknown): string[] => (Array.isArray(value) ? (value as string[]).slice(0, LINK_LIMIT) : []);

async function openFindings(context: MetricContext, where: (q: Knex.QueryBuilder) => void, dims: Record<string, string>): Promise<Observation[]> {
  const query = context.db('findings').where({ status: 'open' });
  where(query);
  const rows: Array<Record<string, unknown>> = await query
    .select(Object.entries(dims).map(([as, column]) => `${column} as ${as}`))
    .select(context.db.raw('count(*)::int as n'), context.db.raw('array_agg(id::text ORDER BY id) as ids'))
    .groupBy(Object.values(dims));
  return rows.map((row) => ({
    dimensions: Object.fromEntries(Object.keys(dims).map((d) => [d, String(row[d])])),
    num: Number(row.n),
    links: ids(row.ids).map((id) => ({ rel: 'finding', href: `/v1/findings/${id}` })),
  }));
}

/** Counters of a metric summed over the window's minute buckets. */
async function countersOver(context: MetricContext, metric: string): Promise<Array<{ dimensions: Record<string, string>; num: number; den: number }>> {
  const rows: Array<{ dimensions: Record<string, string>; num: string; den: string }> = await context
    .db('alert_metric_counts')
    .where({ metric })
    .where('bucket', '>=', minutesAgo(context))
    .groupBy('dimension_key', 'dimensions')
    .select('dimensions', context.db.raw('sum(num) as num'), context.db.raw('sum(den) as den'));
  return rows.map((r) => ({ dimensions: r.dimensions, num: Number(r.num), den: Number(r.den) }));
}

const REVIEW_INTERVAL: Record<string, string> = { monthly: '1 month', quarterly: '3 months', semi_annual: '6 months', annual: '1 year' };

/**
 * The metrics Custos owns, one entry each: what it counts, its dimensions and unit, what the
 * alert's window means for it, when it is evaluated, and how it is computed. Every value is read
 * from the database at evaluation time, so evaluation is idempotent and any instance may run it.
 */
export const METRICS: MetricDefinition[] = [
  {
    name: 'findings.open',
    description: 'Open findings (not excepted, not resolved). With a window: only findings first seen within it (new findings).',
    unit: 'count',
    dimensions: ['severity', 'rule', 'account'],
    window: { meaning: 'count only findings first seen within the last N minutes', defaultMinutes: 0 },
    events: ['evaluation finished', 'exception decided'],
    schedule: 'minute',
    compute: (context) =>
      openFindings(
        context,
        (q) => {
          if (context.windowMinutes > 0) q.where('first_seen_at', '>=', minutesAgo(context));
        },
        { severity: 'severity', rule: 'rule_id', account: 'account' },
      ),
  },
  {
    name: 'controls.status',
    description: 'SOC 2 controls that are failing or not tested (value 1 per control in that status), as GET /v1/controls reports them. Filter on status to alert on one of the two.',
    unit: 'flag',
    dimensions: ['control', 'status'],
    events: ['evaluation finished', 'attestation recorded', 'exception decided'],
    schedule: 'minute',
    async compute(context) {
      const controls = await context.controlStatuses();
      return controls
        .filter((c) => c.status === 'failing' || c.status === 'not_tested')
        .map((c) => ({ dimensions: { control: c.id, status: c.status }, num: 1, links: [{ rel: 'control', href: `/v1/controls/${c.id}` }] }));
    },
  },
  {
    name: 'securityhub.sla_breaches',
    description: 'Security Hub findings open past their severity’s remediation SLA (open findings of the rule securityhub.finding_sla).',
    unit: 'count',
    dimensions: ['account', 'region'],
    events: ['evaluation finished'],
    schedule: 'minute',
    compute: (context) => openFindings(context, (q) => q.where({ rule_id: 'securityhub.finding_sla' }), { account: 'account', region: 'region' }),
  },
  {
    name: 'exceptions.expiring',
    description: 'Approved exceptions to findings that expire within the window (default 7 days).',
    unit: 'count',
    dimensions: ['rule'],
    window: { meaning: 'expiring within the next N minutes', defaultMinutes: 7 * 24 * 60 },
    events: ['exception decided'],
    schedule: 'minute',
    async compute(context) {
      const rows: Array<{ rule: string; n: number; ids: string[] }> = await context
        .db('exceptions')
        .where({ status: 'approved' })
        .where('expires_at', '<=', minutesAhead(context))
        .groupBy('rule_id')
        .select('rule_id as rule', context.db.raw('count(*)::int as n'), context.db.raw('array_agg(id::text ORDER BY expires_at) as ids'));
      return rows.map((r) => ({ dimensions: { rule: r.rule }, num: r.n, links: ids(r.ids).map((id) => ({ rel: 'exception', href: `/v1/exceptions/${id}` })) }));
    },
  },
  {
    name: 'grants.expiring',
    description: 'Active access grants that expire within the window (default 7 days).',
    unit: 'count',
    dimensions: ['principal'],
    window: { meaning: 'expiring within the next N minutes', defaultMinutes: 7 * 24 * 60 },
    events: ['access request decided'],
    schedule: 'minute',
    async compute(context) {
      const rows: Array<{ principal: string; n: number; ids: string[] }> = await context
        .db('access_grants')
        .where({ status: 'active' })
        .where('expires_at', '<=', minutesAhead(context))
        .groupBy('principal')
        .select('principal', context.db.raw('count(*)::int as n'), context.db.raw('array_agg(id::text ORDER BY expires_at) as ids'));
      return rows.map((r) => ({ dimensions: { principal: r.principal }, num: r.n, links: ids(r.ids).map((id) => ({ rel: 'grant', href: `/v1/access/grants/${id}` })) }));
    },
  },
  {
    name: 'approvals.expiring',
    description: 'Approvals that lapse within the window (default 1 day): approved remediations not yet executed (their approval expires), and pending changes that lower protection still waiting for a second person (they expire undecided).',
    unit: 'count',
    dimensions: ['kind'],
    window: { meaning: 'expiring within the next N minutes', defaultMinutes: 24 * 60 },
    events: ['remediation approved or executed', 'approval requested', 'approval decided'],
    schedule: 'minute',
    async compute(context) {
      const rows: Array<{ id: string }> = await context
        .db('remediations as r')
        .join('remediation_approvals as a', 'a.remediation_id', 'r.id')
        .where('r.status', 'approved')
        .where('a.expires_at', '>', context.now)
        .where('a.expires_at', '<=', minutesAhead(context))
        .distinct('r.id')
        .orderBy('r.id');
      const changes: Array<{ id: string }> = await context
        .db('pending_changes')
        .select('id')
        .where({ status: 'pending' })
        .where('expires_at', '>', context.now)
        .where('expires_at', '<=', minutesAhead(context))
        .orderBy('expires_at');
      const out: Observation[] = [];
      if (rows.length) out.push({ dimensions: { kind: 'remediation' }, num: rows.length, links: ids(rows.map((r) => r.id)).map((id) => ({ rel: 'approval', href: `/v1/remediations/${id}` })) });
      if (changes.length) out.push({ dimensions: { kind: 'pending_change' }, num: changes.length, links: ids(changes.map((r) => r.id)).map((id) => ({ rel: 'approval', href: `/v1/pending-changes/${id}` })) });
      return out;
    },
  },
  {
    name: 'approvals.pending',
    description: 'Requests waiting for a second person’s decision longer than the window (default 48 hours): access requests, exceptions, planned remediations and pending changes that lower protection.',
    unit: 'count',
    dimensions: ['kind'],
    window: { meaning: 'pending for longer than N minutes', defaultMinutes: 48 * 60 },
    events: ['approval requested', 'approval decided'],
    schedule: 'minute',
    async compute(context) {
      const before = minutesAgo(context);
      const sources: Array<{ kind: string; table: string; status: string; at: string; href: string }> = [
        { kind: 'access_request', table: 'access_requests', status: 'pending', at: 'created_at', href: '/v1/access/requests/' },
        { kind: 'exception', table: 'exceptions', status: 'pending', at: 'requested_at', href: '/v1/exceptions/' },
        { kind: 'remediation', table: 'remediations', status: 'dry_run', at: 'created_at', href: '/v1/remediations/' },
        { kind: 'pending_change', table: 'pending_changes', status: 'pending', at: 'proposed_at', href: '/v1/pending-changes/' },
      ];
      const observations: Observation[] = [];
      for (const source of sources) {
        const rows: Array<{ id: string }> = await context.db(source.table).select('id').where({ status: source.status }).where(source.at, '<=', before).orderBy(source.at);
        if (rows.length) observations.push({ dimensions: { kind: source.kind }, num: rows.length, links: ids(rows.map((r) => r.id)).map((id) => ({ rel: 'approval', href: source.href + id })) });
      }
      return observations;
    },
  },
  {
    name: 'reviews.due',
    description: 'Compliance records whose next review date falls within the window (or has passed), and domains due for their periodic review (last change + review frequency).',
    unit: 'count',
    dimensions: ['kind'],
    window: { meaning: 'due within the next N minutes (overdue ones included)', defaultMinutes: 30 * 24 * 60 },
    events: ['compliance record or domain changed'],
    schedule: 'minute',
    async compute(context) {
      const horizon = minutesAhead(context);
      const records: Array<{ id: string }> = await context.db('compliance_records').select('id').whereNotNull('next_review_date').where('next_review_date', '<=', horizon.toISOString().slice(0, 10)).orderBy('next_review_date');
      const domains: Array<{ id: string }> = await context
        .db('domains')
        .select('id')
        .whereRaw(`updated_at + (CASE review_frequency ${Object.entries(REVIEW_INTERVAL).map(([f, i]) => `WHEN '${f}' THEN interval '${i}'`).join(' ')} END) <= ?`, [horizon])
        .orderBy('updated_at');
      const out: Observation[] = [];
      if (records.length) out.push({ dimensions: { kind: 'compliance_record' }, num: records.length, links: ids(records.map((r) => r.id)).map((id) => ({ rel: 'compliance_record', href: `/v1/compliance-records/${id}` })) });
      if (domains.length) out.push({ dimensions: { kind: 'domain' }, num: domains.length, links: ids(domains.map((r) => r.id)).map((id) => ({ rel: 'domain', href: `/v1/domains/${id}` })) });
      return out;
    },
  },
  {
    name: 'collections.unsuccessful',
    description: 'The latest finished collection run ended partial or failed (value 1 with its status); resolves when a later run completes.',
    unit: 'flag',
    dimensions: ['status'],
    events: ['collection run finished'],
    schedule: 'minute',
    async compute(context) {
      const latest: { id: string; status: string } | undefined = await context.db('collection_runs').select('id', 'status').whereIn('status', ['complete', 'partial', 'failed']).orderBy('id', 'desc').first();
      if (!latest || latest.status === 'complete') return [];
      return [{ dimensions: { status: latest.status }, num: 1, links: [{ rel: 'collection', href: `/v1/collections/${latest.id}` }] }];
    },
  },
  {
    name: 'evaluations.failed',
    description: 'The latest finished compliance evaluation ended failed (value 1, with its link; its error says why): the findings and control statuses shown are still the previous complete evaluation\'s. Resolves when a later evaluation completes.',
    unit: 'flag',
    dimensions: [],
    events: ['evaluation finished'],
    schedule: 'minute',
    async compute(context) {
      const latest: { id: string; status: string } | undefined = await context.db('evaluations').select('id', 'status').whereIn('status', ['complete', 'failed']).orderBy('id', 'desc').first();
      if (!latest || latest.status === 'complete') return [];
      return [{ dimensions: {}, num: 1, links: [{ rel: 'evaluation', href: `/v1/evaluations/${latest.id}` }] }];
    },
  },
  {
    name: 'access.denied',
    description: 'Denied access decisions within the window (default 5 minutes).',
    unit: 'count',
    dimensions: ['principal', 'table'],
    window: { meaning: 'decisions of the last N minutes', defaultMinutes: 5 },
    events: ['access decisions logged (counted in memory, flushed every few seconds)'],
    schedule: 'minute',
    async compute(context) {
      return (await countersOver(context, ACCESS_DECISIONS_COUNTER)).filter((c) => c.num > 0).map((c) => ({ dimensions: c.dimensions, num: c.num, links: [] }));
    },
  },
  {
    name: 'access.denied_rate',
    description: 'Share of access decisions denied within the window (default 5 minutes), 0 to 1. Group by principal or table for a spike per principal or per table.',
    unit: 'ratio',
    dimensions: ['principal', 'table'],
    window: { meaning: 'decisions of the last N minutes', defaultMinutes: 5 },
    events: ['access decisions logged (counted in memory, flushed every few seconds)'],
    schedule: 'minute',
    async compute(context) {
      return (await countersOver(context, ACCESS_DECISIONS_COUNTER)).map((c) => ({ dimensions: c.dimensions, num: c.num, den: c.den, links: [] }));
    },
  },
  {
    name: 'evidence.chain_verification',
    description: 'The evidence chain fails verification (value 1, with the first broken item); checked hourly, as POST /v1/evidence/verify does.',
    unit: 'flag',
    dimensions: [],
    events: [],
    schedule: 'hourly',
    async compute(context) {
      const verification = await verifyChain(context.db);
      return verification.ok ? [] : [{ dimensions: {}, num: 1, links: [{ rel: 'evidence', href: `/v1/evidence/${verification.first_break!.id}` }] }];
    },
  },
  {
    name: 'policy.bundle_activated',
    description: 'Policy bundle activations within the window (default 60 minutes), from the audit log.',
    unit: 'count',
    dimensions: [],
    window: { meaning: 'activations of the last N minutes', defaultMinutes: 60 },
    events: ['policy bundle activated'],
    schedule: 'minute',
    async compute(context) {
      const rows: Array<{ entity_id: string }> = await context.db('audit_log').select('entity_id').where({ entity: 'policy-bundles', action: 'activate' }).where('at', '>=', minutesAgo(context)).orderBy('id', 'desc');
      return rows.length ? [{ dimensions: {}, num: rows.length, links: ids(rows.map((r) => r.entity_id)).map((id) => ({ rel: 'policy_bundle', href: `/v1/policy-bundles/${id}` })) }] : [];
    },
  },
  {
    name: DATA_QUALITY_FAILURES,
    description: 'Failing data quality rules: the latest result each rule reported through recordMetricValue (rows failing, 0 when it passed).',
    unit: 'count',
    dimensions: ['rule', 'asset', 'severity'],
    events: ['data quality run finished (recordMetricValue)'],
    schedule: 'minute',
    async compute(context) {
      const rows: Array<{ dimensions: Record<string, string>; value: string; links: Link[] }> = await context.db('alert_metric_values').where({ metric: DATA_QUALITY_FAILURES }).select('dimensions', 'value', 'links');
      return rows.map((r) => ({ dimensions: r.dimensions, num: Number(r.value), links: r.links }));
    },
  },
];

export const METRIC_NAMES = METRICS.map((m) => m.name);
export const metricNamed = (name: string) => METRICS.find((m) => m.name === name);
