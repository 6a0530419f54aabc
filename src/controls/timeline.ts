import type { Knex } from 'knex';
import type { RuleMetadata } from '../policy/engine.js';
import type { Control } from './catalog.js';
import { statusOf, type EvaluationSummary, type Reasons, type RuleCounts, type Status } from './status.js';

export interface TimelinePoint {
  evaluation_id: string;
  at: string;
  bundle_revision: string;
  run_partial: boolean;
  status: Status;
  reason: string;
  reasons: Reasons | null;
  coverage: 'complete' | 'partial' | null;
  open_findings: number;
  excepted_findings: number;
}

export interface Period {
  from: string;
  to: string;
}

export type FindingCounts = Map<string, RuleCounts>;

/** The counts of one control at one evaluation: per rule, and summed. */
export function countsOf(counts: FindingCounts, evaluationId: string | undefined, controlId: string): { byRule: RuleCounts; open: number; excepted: number } {
  const byRule: RuleCounts = counts.get(`${evaluationId}|${controlId}`) ?? new Map();
  let open = 0;
  let excepted = 0;
  for (const c of byRule.values()) {
    open += c.open;
    excepted += c.excepted;
  }
  return { byRule, open, excepted };
}

/**
 * Open and excepted findings per evaluation, control and rule, keyed `evaluationId|controlId`: every
 * finding open when the evaluation ended, whether it reported it or carried it (not seen, not
 * resolved). Findings an approved exception covered do not fail a control; they are counted apart.
 */
export async function findingCounts(db: Knex, evaluationIds: string[], controlIds?: string[]): Promise<FindingCounts> {
  const counts: FindingCounts = new Map();
  if (evaluationIds.length === 0) return counts;
  const { rows } = await db.raw(
    `SELECT ef.evaluation_id, c.control, f.rule_id,
            count(*) FILTER (WHERE ef.exception_id IS NULL)::int AS open,
            count(*) FILTER (WHERE ef.exception_id IS NOT NULL)::int AS excepted
       FROM evaluation_findings ef
       JOIN findings f ON f.id = ef.finding_id, jsonb_array_elements_text(f.controls) AS c(control)
      WHERE ef.evaluation_id = ANY(?::uuid[]) ${controlIds ? 'AND c.control = ANY(?::text[])' : ''} GROUP BY 1, 2, 3`,
    controlIds ? [evaluationIds, controlIds] : [evaluationIds],
  );
  for (const r of rows as Array<{ evaluation_id: string; control: string; rule_id: string; open: number; excepted: number }>) {
    const key = `${r.evaluation_id}|${r.control}`;
    if (!counts.has(key)) counts.set(key, new Map());
    counts.get(key)!.set(r.rule_id, { open: r.open, excepted: r.excepted });
  }
  return counts;
}

/** Most evaluations one timeline reads: a year of hourly evaluations. */
export const TIMELINE_LIMIT = 10_000;

/**
 * Each control's status at every complete evaluation that finished in [from, to): the control
 * status timeline of an audit period. Findings an approved exception covered at the time do not fail
 * a control; they are counted apart.
 */
export async function controlTimelines(db: Knex, controls: Control[], rules: RuleMetadata[], period: Period): Promise<Map<string, TimelinePoint[]>> {
  const evaluations: Array<{ id: string; finished_at: Date | string; run_partial: boolean; bundle_revision: string; rule_coverage: EvaluationSummary['rule_coverage'] }> = await db('evaluations')
    .select('id', 'finished_at', 'run_partial', 'bundle_revision', 'rule_coverage')
    .where({ status: 'complete' })
    .where('finished_at', '>=', period.from)
    .where('finished_at', '<', period.to)
    .orderBy('finished_at')
    .limit(TIMELINE_LIMIT);
  const counts = await findingCounts(db, evaluations.map((e) => e.id), controls.map((c) => c.id));
  const timelines = new Map<string, TimelinePoint[]>();
  for (const control of controls) {
    const ruleIds = rules.filter((r) => r.controls.includes(control.id)).map((r) => r.id);
    timelines.set(
      control.id,
      evaluations.map((e) => {
        const c = countsOf(counts, e.id, control.id);
        return {
          evaluation_id: e.id,
          at: new Date(e.finished_at).toISOString(),
          bundle_revision: e.bundle_revision,
          run_partial: e.run_partial,
          ...statusOf(control, ruleIds, e, c.byRule),
          open_findings: c.open,
          excepted_findings: c.excepted,
        };
      }),
    );
  }
  return timelines;
}

export type DayResult = 'passing' | 'failing' | 'partial' | 'none';

export interface Coverage {
  control_id: string;
  automation: string;
  from: string;
  to: string;
  days_in_period: number;
  days_tested: number;
  days_passing: number;
  /** days_tested / days_in_period, 0 for manual controls (they are attested, not tested). */
  coverage: number;
  days: Array<{ date: string; result: DayResult; evaluations: number }>;
  gaps: Array<{ from: string; to: string; days: number; reason: string }>;
}

const DAY = 86_400_000;
const dayOf = (iso: string) => iso.slice(0, 10);

/** The UTC days a period touches, [first, last]. */
export function periodDays(period: Period): string[] {
  const days: string[] = [];
  for (let t = Date.parse(dayOf(new Date(period.from).toISOString())); t < Date.parse(period.to); t += DAY) days.push(new Date(t).toISOString().slice(0, 10));
  return days;
}

const GAP_REASON: Record<'partial' | 'none', string> = {
  partial: 'not tested: the evaluations that day lacked complete data for its rules (partial collection or coverage)',
  none: 'no complete evaluation',
};

/**
 * Type II coverage: the days of the period (up to now) on which a complete evaluation tested the
 * control (whatever its result), and the runs of days on which none did.
 */
export function coverageOf(control: Control, points: TimelinePoint[], period: Period, now = new Date()): Coverage {
  // Days that have not happened yet are neither tested nor gaps.
  const end = new Date(Math.min(Date.parse(period.to), now.getTime())).toISOString();
  const counted = { from: period.from, to: end < period.from ? period.from : end };
  const byDay = new Map<string, TimelinePoint[]>();
  for (const p of points) byDay.set(dayOf(p.at), [...(byDay.get(dayOf(p.at)) ?? []), p]);
  const days = periodDays(counted).map((date) => {
    const seen = byDay.get(date) ?? [];
    const tested = seen.filter((p) => p.status === 'passing' || p.status === 'failing');
    const result: DayResult = tested.length ? (tested.some((p) => p.status === 'failing') ? 'failing' : 'passing') : seen.length ? 'partial' : 'none';
    return { date, result, evaluations: seen.length };
  });
  const gaps: Coverage['gaps'] = [];
  if (control.automation !== 'manual') {
    for (const day of days) {
      if (day.result === 'passing' || day.result === 'failing') continue;
      const reason = GAP_REASON[day.result];
      const last = gaps.at(-1);
      if (last && last.reason === reason && Date.parse(day.date) - Date.parse(last.to) === DAY) {
        last.to = day.date;
        last.days++;
      } else gaps.push({ from: day.date, to: day.date, days: 1, reason });
    }
  }
  const daysTested = control.automation === 'manual' ? 0 : days.filter((d) => d.result === 'passing' || d.result === 'failing').length;
  return {
    control_id: control.id,
    automation: control.automation,
    from: period.from,
    to: period.to,
    days_in_period: days.length,
    days_tested: daysTested,
    days_passing: control.automation === 'manual' ? 0 : days.filter((d) => d.result === 'passing').length,
    coverage: days.length ? Math.round((daysTested / days.length) * 10_000) / 10_000 : 0,
    days,
    gaps,
  };
}

