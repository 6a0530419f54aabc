/**
 * Violations that begin at a time. A rule whose verdict depends on the time (a Security Hub finding
 * past its SLA, an access key not rotated within 90 days) does not read the input's `now`: it reports
 * the violation with `violates_after`, the time after which it holds (`lib.violation_after`), and a
 * message that does not change with the time. Its verdict on an item then depends on the item alone,
 * so an incremental evaluation reuses it for an unchanged item (src/evaluation/partition.ts) instead
 * of judging every item again at every evaluation.
 *
 * An evaluation reports what holds at its `now` (the run's observed_at); what begins later is kept
 * (`evaluation_pending_violations`, src/evaluation/findings-repository.ts) and the next evaluation
 * reports it once its own `now` is past `violates_after`, if the item is unchanged (a changed item is
 * judged again; for an account rule, if its account's items of the rule's types are unchanged).
 * Time only moves forward for this: an evaluation of a run observed before its base's reuses
 * nothing (evaluate.ts).
 */
import { COMPLIANCE_VIOLATIONS, SCOPED_VIOLATIONS } from '../policy/entrypoints.js';
import type { Violation } from '../policy/input.js';

/** Whether violation `v` holds at `now` (seconds since the epoch): the rule of `lib.holds` in rego/custos/lib. */
export function holdsAt(v: Violation, now: number): boolean {
  return v.violates_after === undefined || v.violates_after === null || now > v.violates_after;
}

/**
 * Each violation with its rule's metadata: a time-bound violation (`lib.violation_after`) leaves it
 * out, and it is attached here by rule id, the same object for every violation of a rule. A
 * violation that carries its own is left as it is.
 */
export function withRules<V extends Omit<Violation, 'rule'> & { rule?: Violation['rule'] }>(violations: V[], rules: ReadonlyArray<{ id: string }>): Violation[] {
  let byId: Map<string, Violation['rule']> | undefined;
  for (const v of violations) {
    if (v.rule) continue;
    byId ??= new Map(rules.map((r) => [r.id, r as unknown as Violation['rule']]));
    const rule = byId.get(v.id);
    if (rule) v.rule = rule;
  }
  return violations as Violation[];
}

/**
 * What POST /v1/decisions answers (and logs, and a replay compares) for an entrypoint's result: for
 * a compliance violations entrypoint, the violations that hold at the input's `now`, each with its
 * rule's metadata, as an evaluation records them (every violation, when the input has no numeric
 * `now`); any other entrypoint's result as it is.
 */
export function complianceAnswer(entrypoint: string, input: unknown, result: unknown, rules: ReadonlyArray<{ id: string }>): unknown {
  const compliance = entrypoint === COMPLIANCE_VIOLATIONS || Object.values(SCOPED_VIOLATIONS).includes(entrypoint);
  if (!compliance || !Array.isArray(result)) return result;
  const now = (input as { now?: unknown } | null)?.now;
  return typeof now === 'number' ? violationsAt(result as Violation[], now, rules) : withRules(result as Violation[], rules);
}

/** A whole evaluation's violations as it reports them: those that hold at `now`, each with its rule's metadata. */
export function violationsAt(violations: Violation[], now: number, rules: ReadonlyArray<{ id: string }>): Violation[] {
  return withRules(violations, rules).filter((v) => holdsAt(v, now));
}
