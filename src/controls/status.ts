import type { Control } from './catalog.js';

export const STATUSES = ['passing', 'failing', 'not_tested', 'manual'] as const;
export type Status = (typeof STATUSES)[number];

export interface EvaluationSummary {
  id: string;
  finished_at: string;
  run_partial: boolean;
  bundle_revision: string;
}

/** One control's status from one evaluation; missing or partial data is never "passing". */
/** A standing attestation of a control (see src/controls/attestations.ts). */
export interface Attested {
  attested_by: string;
  attested_at: string;
  valid_until: string;
}

/**
 * One control's status from one evaluation; missing or partial data is never "passing". A manual
 * control passes only on a standing attestation.
 */
export function statusOf(control: Control, rules: string[], evaluation: Pick<EvaluationSummary, "run_partial"> | undefined, open: number, attested?: Attested): { status: Status; reason: string } {
  const attestation = attested ? `attested by ${attested.attested_by} on ${attested.attested_at.slice(0, 10)}, standing until ${attested.valid_until.slice(0, 10)}` : undefined;
  if (control.automation === 'manual') {
    return attestation ? { status: 'passing', reason: attestation } : { status: 'manual', reason: 'no automated test: awaiting attestation by a compliance officer' };
  }
  if (rules.length === 0) return { status: 'not_tested', reason: 'no rule of the active policy bundle tests it' };
  if (!evaluation) return { status: 'not_tested', reason: 'no evaluation has run yet' };
  if (evaluation.run_partial) return { status: 'not_tested', reason: 'the latest evaluation used a partial collection run: its data is incomplete' };
  if (open > 0) return { status: 'failing', reason: `${open} open finding(s) of ${rules.join(', ')}` };
  const rest = control.automation !== 'partial' ? '' : attestation ? `; the parts no rule tests were ${attestation}` : '; the parts no rule tests need attestation';
  return { status: 'passing', reason: `no open finding of ${rules.join(', ')}${rest}` };
}

