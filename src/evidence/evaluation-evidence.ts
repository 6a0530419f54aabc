import type { Knex } from 'knex';
import type { Catalog } from '../controls/catalog.js';
import { statusOf, type EvaluationSummary, type RuleCounts } from '../controls/status.js';
import type { RuleMetadata } from '../policy/engine.js';
import { itemSlice } from '../sources/coverage.js';
import { EMPTY_SHA256, runSliceDigests, sliceName } from '../sources/run-store.js';
import { appendEvidence, CanonicalText } from './chain.js';

/** Findings read at a time for an evaluation's evidence. */
const EVIDENCE_PAGE = 5_000;

/** A finding as an evaluation's evidence lists it, written once as canonical JSON (`entry`). */
export interface EvidenceEntry {
  rule_id: string;
  controls: string[];
  exception_id: string | null;
  entry: CanonicalText;
}

type FindingRow = { id: string; rule_id: string; severity: string; resource_type: string; resource_id: string; account: string; region: string; msg: string; controls: string[] };

/** Findings by id, as the evidence lists them: read `EVIDENCE_PAGE` ids per query. */
async function findingRows(db: Knex, ids: string[]): Promise<Map<string, FindingRow>> {
  const rows = new Map<string, FindingRow>();
  for (let i = 0; i < ids.length; i += EVIDENCE_PAGE) {
    const page: FindingRow[] = await db('findings')
      .whereRaw('id = ANY(CAST(? AS uuid[]))', [ids.slice(i, i + EVIDENCE_PAGE)])
      .select('id', 'rule_id', 'severity', 'resource_type', 'resource_id', 'account', 'region', 'msg', 'controls');
    for (const row of page) rows.set(row.id, row);
  }
  return rows;
}

const entryOf = ({ controls, ...finding }: FindingRow, exception_id: string | null): EvidenceEntry => ({
  rule_id: finding.rule_id,
  controls,
  exception_id,
  entry: CanonicalText.of(exception_id ? { ...finding, exception_id } : finding),
});

/**
 * Findings' evidence entries (without an exception) read ahead of the evaluation's evidence, on a
 * connection of their own: an incremental evaluation reads those of the verdicts it carries over
 * while its transaction still writes them (src/evaluation/evaluate.ts). Only fields the carry-over
 * does not change are read, from the committed rows (the transaction holds the findings writers'
 * lock meanwhile); the caller drops the entries of findings its transaction wrote since (the
 * upsert's ids), and recordEvaluationEvidence reads those, and any with an exception, itself.
 */
export async function readEvidenceEntries(db: Knex, ids: string[]): Promise<Map<string, EvidenceEntry>> {
  const entries = new Map<string, EvidenceEntry>();
  for (const [id, row] of await findingRows(db, ids)) entries.set(id, entryOf(row, null));
  return entries;
}

/**
 * One evidence item per tested control for a finished evaluation: its status and reason, the open
 * findings that fail it (and apart, those an exception covered, with its id), and what was
 * checked: per slice of the run its rules read (the resources of a type, or the findings or
 * permissions), how many items and the SHA-256 of their keys and content hashes, which an auditor
 * can recompute from GET /v1/collections/:id/resources?kind=&type=. Written in the evaluation's transaction.
 * `ahead`: entries read ahead (readEvidenceEntries) of findings this transaction has not written
 * since; a finding with an exception, or not among them, is read here.
 */
export async function recordEvaluationEvidence(
  trx: Knex.Transaction,
  context: { evaluation: { id: string; run_id: string; bundle_revision: string; catalog_sha256: string; run_partial: boolean; finished_at: string; rule_coverage: EvaluationSummary['rule_coverage'] }; observedAt: string; catalog: Catalog; rules: RuleMetadata[]; ahead?: ReadonlyMap<string, EvidenceEntry> },
): Promise<number> {
  const { evaluation, catalog, rules, ahead } = context;
  // Each finding is written as canonical JSON once, however many controls list it: the bodies of one
  // evaluation list every open finding under each of its controls (a finding is in two or three),
  // and building them as objects held them all at once (about 70 MiB more heap at 23,000 findings
  // in bench:evaluate, the evaluation's peak).
  // Failing findings are listed without exception_id; those an exception covered, with it. The
  // evaluation's membership (finding ids in order, a few bytes each) is read first, then the findings
  // a page at a time by id, not kept: all 23,000 rows of bench:evaluate at once (as objects, beside
  // their texts) set the re-evaluation's peak memory. Pages by id rather than a keyset over the join:
  // with the membership just written (its statistics stale), PostgreSQL joined and sorted every row
  // of the evaluation for each page (0.5 s in bench:evaluate instead of 0.2 s).
  const members: Array<{ finding_id: string; exception_id: string | null }> = await trx('evaluation_findings').where('evaluation_id', evaluation.id).select('finding_id', 'exception_id').orderBy('finding_id');
  const findings: EvidenceEntry[] = [];
  for (let i = 0; i < members.length; i += EVIDENCE_PAGE) {
    const slice = members.slice(i, i + EVIDENCE_PAGE);
    const known = (m: (typeof slice)[number]) => (m.exception_id === null ? ahead?.get(m.finding_id) : undefined);
    const read = await findingRows(trx, slice.filter((m) => !known(m)).map((m) => m.finding_id));
    for (const m of slice) {
      const row = read.get(m.finding_id);
      const entry = known(m) ?? (row && entryOf(row, m.exception_id));
      if (!entry) throw new Error(`evidence of evaluation ${evaluation.id}: its finding ${m.finding_id} is missing`);
      findings.push(entry);
    }
  }
  // What each control's rules checked: the run's slices (resources of a type, or a whole kind) of
  // their resource types, each as digested once when the run finished (run_slice_digests), a slice
  // the run holds nothing of as 0 items and the empty digest.
  const tested = catalog.controls
    .map((control) => ({ control, controlRules: rules.filter((r) => r.controls.includes(control.id)) }))
    .filter(({ control, controlRules }) => control.automation !== 'manual' && controlRules.length > 0);
  const runSlices = new Map((await runSliceDigests(trx, evaluation.run_id)).map((s) => [sliceName(s.kind, s.type), s]));
  const checkedBy = (controlRules: RuleMetadata[]) => {
    const read = new Map<string, { kind: string; type: string }>();
    for (const rule of controlRules) {
      for (const resourceType of rule.resource_types) {
        const slice = itemSlice(resourceType);
        if (slice) read.set(sliceName(slice.kind, slice.type ?? ''), { kind: slice.kind, type: slice.type ?? '' });
      }
    }
    const slices = [...read.keys()].sort().map((name) => {
      const { kind, type } = read.get(name)!;
      const { items, items_sha256 } = runSlices.get(name) ?? { items: 0, items_sha256: EMPTY_SHA256 };
      return type ? { kind, type, items, items_sha256 } : { kind, items, items_sha256 };
    });
    const counts = Object.fromEntries(slices.filter((s) => s.items > 0).map((s) => ['type' in s ? s.type : s.kind, s.items]));
    return { counts, slices };
  };
  for (const { control, controlRules } of tested) {
    // Findings an approved exception covered when this evaluation saw them do not fail the control.
    const ofControl = findings.filter((f) => f.controls.includes(control.id));
    const failing = ofControl.filter((f) => !f.exception_id).map((f) => f.entry);
    const excepted = ofControl.filter((f) => f.exception_id).map((f) => f.entry);
    const checked = checkedBy(controlRules);
    const byRule: RuleCounts = new Map();
    for (const f of ofControl) {
      const c = byRule.get(f.rule_id) ?? { open: 0, excepted: 0 };
      if (f.exception_id) c.excepted++;
      else c.open++;
      byRule.set(f.rule_id, c);
    }
    const { status, reason, reasons, coverage } = statusOf(control, controlRules.map((r) => r.id), evaluation, byRule);
    // One control's item at a time: only its body is held as text until it is stored.
    await appendEvidence(trx, [
      {
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
      },
    ]);
  }
  return tested.length;
}
