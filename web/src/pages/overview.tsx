import { useEffect, useState } from 'preact/hooks';
import { api, type Me } from '../api/client';
import type { Json } from '../api/types';
import { ChartView } from '../chart';

type Overview = Json<'/v1/overview'>;
const SEVERITIES = ['critical', 'high', 'medium', 'low'];
const STATUSES = ['passing', 'failing', 'not_tested'] as const;
const COLORS: Record<string, string> = { passing: '#3ebd93', failing: '#e12d39', not_tested: '#9fb3c8', critical: '#8a041a', high: '#e12d39', medium: '#f0b429', low: '#62b0e8' };

/** Control status by category, pass-rate trend, open findings by severity, coverage, top failing rules, what waits. */
export function Overview(_: { me: Me }) {
  const [controls, setControls] = useState<Array<{ id: string; category: string; status: string; title: string }>>([]);
  const [overview, setOverview] = useState<Overview | null>(null);
  const [trend, setTrend] = useState<Array<{ day: string; rate: number }>>([]);
  const [coverageControl, setCoverageControl] = useState('');
  const [coverage, setCoverage] = useState<{ days: Array<{ date: string; result: string }>; gaps: Array<{ from: string; to: string; days: number }> } | null>(null);

  useEffect(() => {
    api.GET('/v1/controls').then(({ data }) => {
      const items = data?.items ?? [];
      setControls(items);
      if (items[0]) setCoverageControl(items[0].id);
    });
    // The pass-rate trend comes with the counts: one request, not one per control's history.
    api.GET('/v1/overview').then(({ data }) => {
      setOverview(data ?? null);
      setTrend(data?.pass_rate_30d ?? []);
    });
  }, []);

  useEffect(() => {
    if (!coverageControl) return;
    api.GET('/v1/controls/{id}/coverage', { params: { path: { id: coverageControl } } }).then(({ data }) => setCoverage(data ?? null));
  }, [coverageControl]);

  const categories = [...new Set(controls.map((c) => c.category))];
  const tally = (category: string, status: string) => controls.filter((c) => c.category === category && c.status === status).length;

  return (
    <div class="grid">
      <section class="card" aria-labelledby="by-category">
        <h2 id="by-category">Control status by category</h2>
        <ChartView
          label={`Control status by category: ${categories.map((c) => `${c}: ${STATUSES.map((s) => `${tally(c, s)} ${s}`).join(', ')}`).join('; ')}`}
          config={{ type: 'bar', data: { labels: categories, datasets: STATUSES.map((s) => ({ label: s.replace('_', ' '), data: categories.map((c) => tally(c, s)), backgroundColor: COLORS[s] })) }, options: { scales: { x: { stacked: true }, y: { stacked: true, ticks: { precision: 0 } } } } }}
        />
      </section>
      <section class="card" aria-labelledby="trend">
        <h2 id="trend">Pass rate, last 30 days</h2>
        {trend.length === 0 ? <p>No evaluations in the period: nothing is reported as passing.</p> : (
          <ChartView label={`Pass rate by day: ${trend.map((t) => `${t.day} ${t.rate}%`).join(', ')}`} config={{ type: 'line', data: { labels: trend.map((t) => t.day), datasets: [{ label: 'controls passing (%)', data: trend.map((t) => t.rate), borderColor: '#2f5d8a' }] }, options: { scales: { y: { min: 0, max: 100 } } } }} />
        )}
      </section>
      <section class="card" aria-labelledby="severity">
        <h2 id="severity">Open findings by severity</h2>
        {overview && (
          <>
            <ChartView label={`Open findings: ${SEVERITIES.map((s) => `${overview.open_findings_by_severity[s] ?? 0} ${s}`).join(', ')}`} config={{ type: 'doughnut', data: { labels: SEVERITIES, datasets: [{ label: 'open findings', data: SEVERITIES.map((s) => overview.open_findings_by_severity[s] ?? 0), backgroundColor: SEVERITIES.map((s) => COLORS[s]!) }] } }} />
            <p>{SEVERITIES.map((s) => `${overview.open_findings_by_severity[s] ?? 0} ${s}`).join(' · ')} · {overview.excepted_findings} excepted</p>
          </>
        )}
      </section>
      <section class="card" aria-labelledby="waiting">
        <h2 id="waiting">Waiting for people</h2>
        {overview && (
          <ul>
            <li><a href="/approvals">{overview.waiting.pending_changes_for_me} pending changes you may approve</a></li>
            <li><a href="/findings">{overview.waiting.exceptions_pending} exception requests to decide</a></li>
            <li>{overview.waiting.remediations_awaiting_approval} remediation plans awaiting approval</li>
            <li>{overview.waiting.access_requests_pending} access requests pending</li>
            <li>{overview.waiting.exceptions_expiring_14d} exceptions and {overview.waiting.grants_expiring_14d} grants expiring within 14 days</li>
            <li>{overview.waiting.reviews_due_30d} control reviews due within 30 days</li>
          </ul>
        )}
      </section>
      <section class="card" aria-labelledby="top-rules">
        <h2 id="top-rules">Top failing rules</h2>
        <table>
          <thead><tr><th scope="col">Rule</th><th scope="col">Severity</th><th scope="col">Open findings</th></tr></thead>
          <tbody>
            {overview?.top_failing_rules.map((r) => (
              <tr key={r.rule_id}><td><a href={`/findings?rule=${encodeURIComponent(r.rule_id)}`}>{r.rule_id}</a></td><td>{r.severity}</td><td>{r.open_findings}</td></tr>
            ))}
          </tbody>
        </table>
      </section>
      <section class="card" aria-labelledby="coverage">
        <h2 id="coverage">Coverage calendar</h2>
        <label>Control{' '}
          <select value={coverageControl} onChange={(e) => setCoverageControl((e.target as HTMLSelectElement).value)}>
            {controls.map((c) => <option key={c.id} value={c.id}>{c.id} {c.title}</option>)}
          </select>
        </label>
        {coverage && (
          <>
            <div class="calendar" role="img" aria-label={`Days tested for ${coverageControl}: ${coverage.days.filter((d) => d.result !== 'none').length} of ${coverage.days.length}; ${coverage.gaps.length} gaps`}>
              {coverage.days.slice(-98).map((d) => <span key={d.date} class={`day ${d.result}`} title={`${d.date}: ${d.result}`} />)}
            </div>
            <p class="legend"><span>■ passing</span><span>■ failing</span><span>■ partial</span><span>■ not tested</span></p>
            <p>{coverage.gaps.length} gaps: {coverage.gaps.slice(0, 3).map((g) => `${g.from}–${g.to} (${g.days} d)`).join(', ')}</p>
          </>
        )}
      </section>
    </div>
  );
}
