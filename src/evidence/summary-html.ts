import type { ExportRequest, PeriodAttestation, PeriodException, PeriodFinding } from './export.js';
import type { Control } from '../controls/catalog.js';
import type { Reasons, Status } from '../controls/status.js';

export interface SummaryControl {
  id: string;
  title: string;
  automation: Control['automation'];
  status: Status;
  reason: string;
  /** Rule by rule, at the last evaluation of the period; null for manual controls and when none ran. */
  reasons: Reasons | null;
  coverage: 'complete' | 'partial' | null;
  evaluations: number;
  /** Share of the period's complete evaluations that passed; null when none tested it. */
  pass_rate: number | null;
  days_tested: number;
  days_in_period: number;
  gaps: number;
  open_findings_at_end: number;
  evidence_items: number;
  attestations: number;
}

const escape = (value: unknown) =>
  String(value ?? '').replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

const percent = (value: number | null) => (value === null ? '—' : `${Math.round(value * 1000) / 10}%`);

/** Which rules failed (with open findings), which were not tested (and why), which passed. */
function ruleCell(reasons: Reasons | null): string {
  if (!reasons) return '—';
  const parts = [
    ...reasons.failing_rules.map((r) => `<span class="failing">failing</span> ${escape(r.rule_id)} (${r.open_findings} open)`),
    ...reasons.untested_rules.map((r) => `<span class="not_tested">not tested</span> ${escape(r.rule_id)}: ${escape(r.why)}`),
    ...reasons.passing_rules.map((r) => `<span class="passing">passing</span> ${escape(r)}`),
  ];
  return parts.join('<br>') || '—';
}

const MAX_FINDINGS = 500;
const SEVERITY_RANK: Record<string, number> = { critical: 0, high: 1, medium: 2, low: 3, informational: 4 };
/** Most severe first, then by rule and resource, so the report reads the same every time. */
const bySeverity = (findings: PeriodFinding[]) =>
  [...findings].sort((a, b) => (SEVERITY_RANK[a.severity] ?? 9) - (SEVERITY_RANK[b.severity] ?? 9) || a.rule_id.localeCompare(b.rule_id) || a.resource_id.localeCompare(b.resource_id));

/** The human-readable report of an export: one self-contained HTML page, no scripts, no external assets. */
export function summaryHtml(data: {
  request: ExportRequest;
  framework: string;
  controls: SummaryControl[];
  findings: PeriodFinding[];
  exceptions: PeriodException[];
  attestations: PeriodAttestation[];
  chain: { items_in_period: number; hashes_ok: boolean; links_ok: boolean; bodies_ok: boolean; problems: string[] };
  late: { received_after_period_end: number; received_at_unknown: number; items: Array<{ seq: number; control_id: string; kind: string; collected_at: string; received_at: string }> };
  head: string;
  keyId: string;
}): string {
  const { request, controls, findings, exceptions, attestations, chain } = data;
  const count = (status: string) => controls.filter((c) => c.status === status).length;
  const rows = (items: string[][]) => items.map((cells) => `<tr>${cells.map((c) => `<td>${c}</td>`).join('')}</tr>`).join('\n');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Custos evidence: ${escape(data.framework)} ${escape(request.period.from)} to ${escape(request.period.to)}</title>
<style>body{font:14px/1.4 system-ui,sans-serif;margin:2em;color:#222}table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:4px 8px;text-align:left;vertical-align:top}
th{background:#f3f3f3}.passing{color:#176f2c}.failing{color:#b00020}.not_tested,.manual{color:#8a5a00}code{font-size:12px}</style></head>
<body>
<h1>${escape(data.framework)} evidence summary</h1>
<p>Period <strong>${escape(request.period.from)}</strong> to <strong>${escape(request.period.to)}</strong> (end exclusive).
Generated ${escape(request.generatedAt.toISOString())} by ${escape(request.generatedBy)}, export <code>${escape(request.id)}</code>.</p>
<p>Controls: ${controls.length} — passing ${count('passing')}, failing ${count('failing')}, not tested ${count('not_tested')}, manual ${count('manual')}.
Status is at the last complete evaluation of the period; a control is never shown passing on partial data.</p>
<h2>Controls</h2>
<table><thead><tr><th>Control</th><th>Automation</th><th>Status at end</th><th>Reason</th><th>Rules</th><th>Evaluations</th><th>Pass rate</th><th>Days tested</th><th>Gaps</th><th>Open findings at end</th><th>Evidence items</th><th>Attestations</th></tr></thead>
<tbody>
${rows(controls.map((c) => [`<strong>${escape(c.id)}</strong> ${escape(c.title)}`, escape(c.automation), `<span class="${c.status}">${escape(c.status)}</span>${c.coverage === 'partial' ? '<br>coverage: partial' : ''}`, escape(c.reason), ruleCell(c.reasons), String(c.evaluations), percent(c.pass_rate), c.automation === 'manual' ? '—' : `${c.days_tested} / ${c.days_in_period}`, c.automation === 'manual' ? '—' : String(c.gaps), String(c.open_findings_at_end), String(c.evidence_items), String(c.attestations)]))}
</tbody></table>
<h2>Open findings (${findings.length}${findings.length > MAX_FINDINGS ? `, first ${MAX_FINDINGS} shown; all are in findings.csv` : ''})</h2>
<table><thead><tr><th>Severity</th><th>Rule</th><th>Controls</th><th>Resource</th><th>First seen</th><th>Message</th></tr></thead><tbody>
${rows(bySeverity(findings).slice(0, MAX_FINDINGS).map((f) => [escape(f.severity), escape(f.rule_id), escape(f.controls.join(', ')), `${escape(f.resource_type)}<br><code>${escape(f.resource_id)}</code> ${escape(f.account)} ${escape(f.region)}`, escape(new Date(f.first_seen_at).toISOString()), escape(f.msg)]))}
</tbody></table>
<h2>Exceptions (${exceptions.length})</h2>
<table><thead><tr><th>Status</th><th>Rule / scope</th><th>Justification</th><th>Compensating control</th><th>Expires</th><th>Requested by</th><th>Decided by</th></tr></thead><tbody>
${rows(exceptions.map((e) => [escape(e.status), `${escape(e.rule_id)}<br><code>${escape(e.finding_id ?? e.resource_pattern)}</code>`, escape(e.justification), escape(e.compensating_control), escape(e.expires_at), escape(e.requested_by), escape(e.decided_by ?? '—')]))}
</tbody></table>
<h2>Attestations (${attestations.length})</h2>
<table><thead><tr><th>Control</th><th>Statement</th><th>Attested by</th><th>At</th><th>Files</th></tr></thead><tbody>
${rows(attestations.map((a) => [escape(a.control_id), escape(a.statement), escape(a.attested_by), escape(a.attested_at), a.files.map((f) => `${escape(f.filename)} <code>${escape(f.sha256.slice(0, 16))}…</code>`).join('<br>')]))}
</tbody></table>
<h2>Integrity</h2>
<p>${chain.items_in_period} evidence items in the period; item hashes ${chain.hashes_ok ? 'all match their fields' : '<strong class="failing">do not all match</strong>'}; links ${chain.links_ok ? 'unbroken, no seq missing' : '<strong class="failing">broken: items are missing</strong>'}; bodies ${chain.bodies_ok ? 'all match their SHA-256' : '<strong class="failing">do not all match</strong>'}.
Chain head at export <code>${escape(data.head)}</code>. Manifest signed with Ed25519 key <code>${escape(data.keyId)}</code>; see README.txt to verify every file offline.</p>
${chain.problems.length ? `<ul>${chain.problems.map((p) => `<li>${escape(p)}</li>`).join('')}</ul>` : ''}
<h2>Evidence received after the period ended (${data.late.received_after_period_end})</h2>
${
  data.late.received_after_period_end
    ? `<p class="failing"><strong>Warning:</strong> ${data.late.received_after_period_end} item(s) dated in the period (when the source says the state was observed) reached Custos only after the period ended: back-dated or late evidence, not contemporaneous.${data.late.items.length < data.late.received_after_period_end ? ` The first ${data.late.items.length} are listed; manifest.json counts all, and evidence.csv flags each.` : ''}</p>
<table><thead><tr><th>Seq</th><th>Control</th><th>Kind</th><th>Observed</th><th>Received</th></tr></thead><tbody>
${rows(data.late.items.map((i) => [String(i.seq), escape(i.control_id), escape(i.kind), escape(i.collected_at), escape(i.received_at)]))}
</tbody></table>`
    : '<p>None: every item of the period with a recorded receipt time reached Custos before the period ended.</p>'
}${data.late.received_at_unknown ? `\n<p>${data.late.received_at_unknown} item(s) of the period were chained before Custos recorded receipt times: when they were received is unknown.</p>` : ''}
</body></html>
`;
}
