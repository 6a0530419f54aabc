import type { RuleCoverage } from '../sources/coverage.js';
import type { Control } from './catalog.js';

export const STATUSES = ['passing', 'failing', 'not_tested', 'manual'] as const;
export type Status = (typeof STATUSES)[number];

export interface EvaluationSummary {
  id: string;
  finished_at: string;
  run_partial: boolean;
  bundle_revision: string;
  /** Per rule: whether the evaluation tested it (src/sources/coverage.ts); null before coverage was recorded. */
  rule_coverage: Record<string, RuleCoverage> | null;
}

/** A standing attestation of a control (see src/controls/attestations.ts). */
export interface Attested {
  attested_by: string;
  attested_at: string;
  valid_until: string;
}

/** Open and excepted findings of one control at one evaluation, per rule. */
export type RuleCounts = Map<string, { open: number; excepted: number }>;

/** Why a control has its status, rule by rule. */
export interface Reasons {
  failing_rules: Array<{ rule_id: string; open_findings: number }>;
  untested_rules: Array<{ rule_id: string; why: string }>;
  passing_rules: string[];
}

export interface ControlStatus {
  status: Status;
  reason: string;
  /** Null for controls no rule tests, before any evaluation, and for manual controls. */
  reasons: Reasons | null;
  /** `partial` when some listing the control's rules read was incomplete; reported beside the status, never instead of it. */
  coverage: 'complete' | 'partial' | null;
}

const NO_COVERAGE = 'the evaluation recorded no coverage (it predates coverage records)';

/**
 * One control's status from one evaluation. Open findings always fail it, whatever the run's
 * completeness. Otherwise it passes only if every rule testing it was tested (complete coverage of
 * at least one resource of its types, or absence declared compliance over a complete listing);
 * else it is not_tested, naming what was not seen. A manual control passes only on a standing
 * attestation.
 */
export function statusOf(
  control: Control,
  rules: string[],
  evaluation: Pick<EvaluationSummary, 'run_partial' | 'rule_coverage'> | undefined,
  counts: RuleCounts,
  attested?: Attested,
): ControlStatus {
  const attestation = attested ? `attested by ${attested.attested_by} on ${attested.attested_at.slice(0, 10)}, standing until ${attested.valid_until.slice(0, 10)}` : undefined;
  if (control.automation === 'manual') {
    return attestation
      ? { status: 'passing', reason: attestation, reasons: null, coverage: null }
      : { status: 'manual', reason: 'no automated test: awaiting attestation by a compliance officer', reasons: null, coverage: null };
  }
  if (rules.length === 0) return { status: 'not_tested', reason: 'no rule of the active policy bundle tests it', reasons: null, coverage: null };
  if (!evaluation) return { status: 'not_tested', reason: 'no evaluation has run yet', reasons: null, coverage: null };

  // A finding of a rule that no longer names the control (or left the bundle) still fails it while open.
  const failing_rules = [...counts]
    .filter(([, c]) => c.open > 0)
    .map(([rule_id, c]) => ({ rule_id, open_findings: c.open }))
    .sort((a, b) => a.rule_id.localeCompare(b.rule_id));
  const failed = new Set(failing_rules.map((r) => r.rule_id));
  const untested_rules: Reasons['untested_rules'] = [];
  const passing_rules: string[] = [];
  let partial = evaluation.run_partial;
  for (const rule of rules) {
    const coverage = evaluation.rule_coverage?.[rule];
    if (coverage?.partial !== false) partial = true;
    if (failed.has(rule)) continue;
    if (!evaluation.rule_coverage) untested_rules.push({ rule_id: rule, why: NO_COVERAGE });
    else if (!coverage) untested_rules.push({ rule_id: rule, why: 'not in the bundle this evaluation used' });
    else if (!coverage.tested) untested_rules.push({ rule_id: rule, why: coverage.why ?? 'not tested' });
    else passing_rules.push(rule);
  }
  const reasons = { failing_rules, untested_rules, passing_rules };
  const base = { reasons, coverage: partial ? ('partial' as const) : ('complete' as const) };
  if (failing_rules.length) {
    const open = failing_rules.reduce((n, r) => n + r.open_findings, 0);
    return { ...base, status: 'failing', reason: `${open} open finding(s): ${failing_rules.map((r) => `${r.rule_id} (${r.open_findings})`).join(', ')}` };
  }
  if (untested_rules.length) return { ...base, status: 'not_tested', reason: `not tested: ${untested_rules.map((r) => `${r.rule_id} (${r.why})`).join('; ')}` };
  const rest = control.automation !== 'partial' ? '' : attestation ? `; the parts no rule tests were ${attestation}` : '; the parts no rule tests need attestation';
  return { ...base, status: 'passing', reason: `no open finding of ${rules.join(', ')}${partial ? ' (coverage partial)' : ''}${rest}` };
}
