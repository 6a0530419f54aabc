import type { Knex } from 'knex';
import type { Catalog } from '../controls/catalog.js';
import { statusOf, type EvaluationSummary, type RuleCounts } from '../controls/status.js';
import type { RuleMetadata } from '../policy/engine.js';
import { itemSlice } from '../sources/coverage.js';
import { runItemsDigests } from '../sources/run-store.js';
import { appendEvidence } from './chain.js';

/**
 * One evidence item per tested control for a finished evaluation: its status and reason, the open
 * findings that fail it (and apart, those an exception covered, with its id), and what was
 * checked: counts and a SHA-256 digest of the exact run items (key and content hash) its rules
 * read, which an auditor can recompute from GET /v1/collections/:id/resources. Written in the evaluation's transaction.
 */
export async function recordEvaluationEvidence(
  trx: Knex.Transaction,
  context: { evaluation: { id: string; run_id: string; bundle_revision: string; catalog_sha256: string; run_partial: boolean; finished_at: string; rule_coverage: EvaluationSummary['rule_coverage'] }; observedAt: string; catalog: Catalog; rules: RuleMetadata[] },
): Promise<number> {
  const { evaluation, catalog, rules } = context;
  const findings: Array<{ id: string; rule_id: string; severity: string; resource_type: string; resource_id: string; account: string; region: string; msg: string; controls: string[]; exception_id: string | null }> = await trx('findings as f')
    .join('evaluation_findings as ef', 'ef.finding_id', 'f.id')
    .where('ef.evaluation_id', evaluation.id)
    .select('f.id', 'f.rule_id', 'f.severity', 'f.resource_type', 'f.resource_id', 'f.account', 'f.region', 'f.msg', 'f.controls', 'ef.exception_id')
    .orderBy('f.id');
  // Which slice (resource type, or kind) each item is of, and per set of slices the digest of its
  // items: controls whose rules check the same slices share it. Every digest is made in one pass
  // over the run's items, read a batch at a time (runItemsDigests), never all held at once.
  const sliceOf = (kind: string, type?: string) => (kind === 'resource' ? `resource|${type}` : kind);
  const tested = catalog.controls
    .map((control) => ({ control, controlRules: rules.filter((r) => r.controls.includes(control.id)) }))
    .filter(({ control, controlRules }) => control.automation !== 'manual' && controlRules.length > 0);
  const sliceSets = new Map<string, Set<string>>();
  const slicesKeyOf = tested.map(({ controlRules }) => {
    const slices = controlRules.flatMap((r) => r.resource_types.map(itemSlice)).filter((s): s is NonNullable<ReturnType<typeof itemSlice>> => s !== undefined);
    const checkedSlices = new Set(slices.map((s) => (s.type ? sliceOf(s.kind, s.type) : s.kind)));
    const slicesKey = [...checkedSlices].sort().join('\u0000');
    sliceSets.set(slicesKey, checkedSlices);
    return slicesKey;
  });
  // A slice without a type (findings, permissions) is its whole kind; resources are always typed.
  const keys = [...sliceSets.keys()];
  const made = await runItemsDigests(
    trx,
    evaluation.run_id,
    keys.map((key) => {
      const checkedSlices = sliceSets.get(key)!;
      return (item) => checkedSlices.has(sliceOf(item.kind, item.type)) || checkedSlices.has(item.kind);
    }),
  );
  const digests = new Map(keys.map((key, n) => [key, made[n]!]));
  const evidence = [];
  for (const [n, { control, controlRules }] of tested.entries()) {
    // Findings an approved exception covered when this evaluation saw them do not fail the control.
    const ofControl = findings.filter((f) => f.controls.includes(control.id));
    const failing = ofControl.filter((f) => !f.exception_id).map(({ controls, exception_id, ...f }) => f);
    const excepted = ofControl.filter((f) => f.exception_id).map(({ controls, ...f }) => f);
    const checked = digests.get(slicesKeyOf[n]!)!;
    const byRule: RuleCounts = new Map();
    for (const f of ofControl) {
      const c = byRule.get(f.rule_id) ?? { open: 0, excepted: 0 };
      if (f.exception_id) c.excepted++;
      else c.open++;
      byRule.set(f.rule_id, c);
    }
    const { status, reason, reasons, coverage } = statusOf(control, controlRules.map((r) => r.id), evaluation, byRule);
    evidence.push({
      control_id: control.id,
      kind: 'evaluation' as const,
      source_id: evaluation.id,
      collected_at: context.observedAt,
      bundle_revision: evaluation.bundle_revision,
      body: {
        control: { id: control.id, title: control.title },
        status,
        reason,
        reasons,
        coverage,
        rules: controlRules.map((r) => ({ id: r.id, title: r.title, severity: r.severity })),
        evaluation: { id: evaluation.id, run_id: evaluation.run_id, run_partial: evaluation.run_partial, bundle_revision: evaluation.bundle_revision, catalog_sha256: evaluation.catalog_sha256, finished_at: evaluation.finished_at },
        checked,
        failing_findings: failing,
        excepted_findings: excepted,
      },
    });
  }
  if (evidence.length) await appendEvidence(trx, evidence);
  return evidence.length;
}
