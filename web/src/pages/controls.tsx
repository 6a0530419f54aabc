import { useEffect, useState } from 'preact/hooks';
import { api, problemText, type Me } from '../api/client';
import type { Item, Json } from '../api/types';
import { ChartView } from '../chart';

type Control = Item<'/v1/controls'>;
type Detail = Json<'/v1/controls/{id}'>;
type History = Json<'/v1/controls/{id}/history'>['items'];
type Coverage = Json<'/v1/controls/{id}/coverage'>;
type Attestation = Item<'/v1/controls/{id}/attestations'>;
type Evidence = Item<'/v1/evidence'>;

/** The media types the service accepts for attestation files (it also checks each file's content). */
const MEDIA_TYPES: Record<string, string> = {
  '.pdf': 'application/pdf', '.png': 'image/png', '.jpg': 'image/jpeg', '.jpeg': 'image/jpeg', '.txt': 'text/plain', '.log': 'text/plain',
  '.csv': 'text/csv', '.md': 'text/markdown', '.json': 'application/json',
  '.xlsx': 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet', '.docx': 'application/vnd.openxmlformats-officedocument.wordprocessingml.document',
};
/** Status as a level for the history chart; not tested (and manual) sits between: never drawn as passing. */
const LEVEL: Record<string, number> = { failing: 0, not_tested: 1, manual: 1, passing: 2 };

const selectedId = () => new URLSearchParams(location.search).get('id');

/** Controls with their status and reason; one control's detail at /controls?id=… */
export function Controls({ me }: { me: Me }) {
  const [items, setItems] = useState<Control[]>([]);
  const [id, setId] = useState<string | null>(selectedId());
  useEffect(() => { api.GET('/v1/controls', { params: { query: { limit: 500 } } }).then(({ data }) => setItems(data?.items ?? [])); }, []);
  useEffect(() => {
    const onPop = () => setId(selectedId());
    addEventListener('popstate', onPop);
    return () => removeEventListener('popstate', onPop);
  }, []);
  const show = (next: string | null) => {
    history.pushState(null, '', next ? `/controls?id=${encodeURIComponent(next)}` : '/controls');
    setId(next);
  };
  if (id) return <ControlDetail me={me} id={id} back={() => show(null)} />;
  return (
    <table>
      <caption class="sr-only">Controls</caption>
      <thead><tr><th scope="col">Control</th><th scope="col">Category</th><th scope="col">Automation</th><th scope="col">Status</th><th scope="col">Why</th><th scope="col">Open findings</th><th scope="col">Tested by</th></tr></thead>
      <tbody>
        {items.map((c) => (
          <tr key={c.id}>
            <td><a href={`/controls?id=${encodeURIComponent(c.id)}`} onClick={(e) => { e.preventDefault(); show(c.id); }}>{c.id}</a> {c.title}</td>
            <td>{c.category}</td><td>{c.automation}</td><td class={`status-${c.status}`}>{c.status.replace('_', ' ')}</td><td>{c.reason}</td><td>{c.open_findings}</td><td>{c.rules.join(', ') || '—'}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

/** One control: the rules that test it (rule by rule), its status history, findings, coverage gaps, attestations and evidence. */
function ControlDetail({ me, id, back }: { me: Me; id: string; back: () => void }) {
  const [control, setControl] = useState<Detail | null>(null);
  const [missing, setMissing] = useState<string | null>(null);
  const [history, setHistory] = useState<History>([]);
  const [coverage, setCoverage] = useState<Coverage | null>(null);
  const [attestations, setAttestations] = useState<Attestation[]>([]);
  const [evidence, setEvidence] = useState<{ items: Evidence[]; next: string | null }>({ items: [], next: null });
  const [evidenceCursor, setEvidenceCursor] = useState<string | undefined>();
  const [message, setMessage] = useState<{ kind: 'ok' | 'alert'; text: string } | null>(null);
  const path = { params: { path: { id } } };

  const loadControl = () => api.GET('/v1/controls/{id}', path).then(({ data, error }) => { setControl(data ?? null); setMissing(data ? null : problemText(error)); });
  const loadAttestations = () => api.GET('/v1/controls/{id}/attestations', { params: { path: { id }, query: { limit: 20 } } }).then(({ data }) => setAttestations(data?.items ?? []));
  useEffect(() => {
    loadControl();
    loadAttestations();
    // The history is newest last; 200 evaluations cover the default 90 days of daily runs.
    api.GET('/v1/controls/{id}/history', { params: { path: { id }, query: { limit: 200 } } }).then(({ data }) => setHistory(data?.items ?? []));
    api.GET('/v1/controls/{id}/coverage', path).then(({ data }) => setCoverage(data ?? null));
  }, [id]);
  useEffect(() => {
    api.GET('/v1/evidence', { params: { query: { control: id, limit: 20, ...(evidenceCursor ? { cursor: evidenceCursor } : {}) } } }).then(({ data }) => setEvidence({ items: data?.items ?? [], next: data?.next_cursor ?? null }));
  }, [id, evidenceCursor, attestations.length]);

  const attest = async (event: Event) => {
    event.preventDefault();
    const form = event.target as HTMLFormElement;
    const data = new FormData(form);
    const files = [];
    for (const file of data.getAll('files') as File[]) {
      if (!file.name) continue;
      const extension = file.name.slice(file.name.lastIndexOf('.')).toLowerCase();
      const media_type = MEDIA_TYPES[extension];
      if (!media_type) return setMessage({ kind: 'alert', text: `${file.name}: attach ${Object.keys(MEDIA_TYPES).join(', ')} files` });
      files.push({ filename: file.name, media_type: media_type as never, content_base64: await base64(file) });
    }
    const periodTo = String(data.get('period_to') ?? '');
    const { data: created, error } = await api.POST('/v1/controls/{id}/attestations', {
      params: { path: { id } },
      body: { statement: String(data.get('statement')), ...(periodTo ? { period_to: periodTo } : {}), files },
    });
    if (!created) return setMessage({ kind: 'alert', text: problemText(error) });
    setMessage({ kind: 'ok', text: `Attested ${id} with ${created.files.length} file${created.files.length === 1 ? '' : 's'}; it stands until ${created.valid_until.slice(0, 10)}.` });
    form.reset();
    loadAttestations();
    loadControl();
  };

  if (missing) return <div><p><button type="button" onClick={back}>All controls</button></p><div class="alert" role="alert">{missing}</div></div>;
  if (!control) return <p role="status">Loading…</p>;
  const reasons = control.reasons;
  const ruleRows = reasons
    ? [
        ...reasons.failing_rules.map((r) => ({ rule: r.rule_id, status: 'failing', why: `${r.open_findings} open finding${r.open_findings === 1 ? '' : 's'}` })),
        ...reasons.untested_rules.map((r) => ({ rule: r.rule_id, status: 'not_tested', why: r.why })),
        ...reasons.passing_rules.map((r) => ({ rule: r, status: 'passing', why: 'no open finding in a complete run' })),
      ]
    : control.rules.map((r) => ({ rule: r, status: 'not_tested', why: 'no complete evaluation yet' }));
  const canAttest = (me.role === 'admin' || me.role === 'compliance_officer') && control.automation !== 'automated';

  return (
    <div>
      <p><button type="button" onClick={back}>All controls</button></p>
      <section class="card" aria-labelledby="control-title">
        <h2 id="control-title">{control.id} {control.title}</h2>
        <p>{control.description}</p>
        <p>
          Status <strong class={`status-${control.status}`}>{control.status.replace('_', ' ')}</strong>: {control.reason}
          {control.coverage === 'partial' && ' (partial coverage: some listing was incomplete)'}
        </p>
        <p>{control.category} · {control.automation} · owner {control.owner ?? '—'} · next review {control.next_review_date ?? '—'}
          {control.attestation && <> · attested by {control.attestation.attested_by} until {control.attestation.valid_until.slice(0, 10)}</>}</p>
      </section>
      {message && <div class={message.kind} role={message.kind === 'alert' ? 'alert' : 'status'}>{message.text}</div>}
      <div class="grid">
        <section class="card" aria-labelledby="tested-by">
          <h2 id="tested-by">Tested by</h2>
          {ruleRows.length === 0 ? <p>No rule tests this control: it is attested.</p> : (
            <table>
              <thead><tr><th scope="col">Rule</th><th scope="col">Status</th><th scope="col">Why</th></tr></thead>
              <tbody>{ruleRows.map((r) => <tr key={r.rule}><td>{r.rule}</td><td class={`status-${r.status}`}>{r.status.replace('_', ' ')}</td><td>{r.why}</td></tr>)}</tbody>
            </table>
          )}
        </section>
        <section class="card" aria-labelledby="history">
          <h2 id="history">Status history</h2>
          {history.length === 0 ? <p>No complete evaluation in the last 90 days: nothing is reported as passing.</p> : (
            <ChartView
              label={`Status of ${control.id} by evaluation: ${history.slice(-10).map((h) => `${h.at.slice(0, 10)} ${h.status.replace('_', ' ')}`).join(', ')}`}
              config={{
                type: 'line',
                data: { labels: history.map((h) => h.at.slice(0, 16).replace('T', ' ')), datasets: [{ label: 'status', data: history.map((h) => LEVEL[h.status]), borderColor: '#2f5d8a', stepped: true }, { label: 'open findings', data: history.map((h) => h.open_findings), borderColor: '#e12d39', yAxisID: 'findings' }] },
                options: {
                  scales: {
                    y: { min: 0, max: 2, ticks: { stepSize: 1, callback: (v) => ['failing', 'not tested / manual', 'passing'][Number(v)] ?? '' } },
                    findings: { position: 'right', beginAtZero: true, ticks: { precision: 0 } },
                  },
                },
              }}
            />
          )}
        </section>
      </div>
      <section class="card" aria-labelledby="control-findings">
        <h2 id="control-findings">Open findings failing it</h2>
        {control.failing_findings.length === 0 ? <p>None in the latest evaluation.</p> : (
          <table>
            <thead><tr><th scope="col">Severity</th><th scope="col">Rule</th><th scope="col">Resource</th><th scope="col">Message</th></tr></thead>
            <tbody>{control.failing_findings.map((f) => <tr key={f.id}><td>{f.severity}</td><td><a href={`/findings?rule=${encodeURIComponent(f.rule_id)}`}>{f.rule_id}</a></td><td>{f.resource_type} {f.resource_id}</td><td>{f.msg}</td></tr>)}</tbody>
          </table>
        )}
      </section>
      <section class="card" aria-labelledby="gaps">
        <h2 id="gaps">Coverage</h2>
        {coverage && (
          <>
            <p>{coverage.days_tested} of {coverage.days_in_period} days tested ({Math.round(coverage.coverage * 100)}%), {coverage.days_passing} passing, {coverage.from.slice(0, 10)} to {coverage.to.slice(0, 10)}.</p>
            {coverage.gaps.length === 0 ? <p>No gap.</p> : (
              <table>
                <thead><tr><th scope="col">Gap from</th><th scope="col">To</th><th scope="col">Days</th><th scope="col">Why</th></tr></thead>
                <tbody>{coverage.gaps.map((g) => <tr key={g.from}><td>{g.from}</td><td>{g.to}</td><td>{g.days}</td><td>{g.reason}</td></tr>)}</tbody>
              </table>
            )}
          </>
        )}
      </section>
      <section class="card" aria-labelledby="attestations">
        <h2 id="attestations">Attestations</h2>
        {canAttest && (
          <form onSubmit={attest} aria-label={`Attest ${control.id}`}>
            <label>Statement <textarea name="statement" required maxLength={20000} rows={3} cols={60} /></label>
            <label>Holds until <input name="period_to" type="date" /></label>
            <label>Files <input name="files" type="file" multiple accept={Object.keys(MEDIA_TYPES).join(',')} /></label>
            <button type="submit" class="primary">Attest</button>
          </form>
        )}
        {control.automation === 'automated' && <p>Tested automatically by its rules: not attested.</p>}
        {attestations.length === 0 ? <p>No attestation.</p> : (
          <table>
            <thead><tr><th scope="col">Attested</th><th scope="col">By</th><th scope="col">Statement</th><th scope="col">Until</th><th scope="col">Files (SHA-256)</th></tr></thead>
            <tbody>
              {attestations.map((a) => (
                <tr key={a.id}>
                  <td>{a.attested_at.slice(0, 16).replace('T', ' ')}</td><td>{a.attested_by}</td><td>{a.statement}</td><td>{a.valid_until.slice(0, 10)}</td>
                  <td><ul class="plain">{a.files.map((f) => <li key={f.id}><a href={`/v1/attestations/${a.id}/files/${f.id}`}>{f.filename}</a> <small>{f.size_bytes} bytes, <code>{f.sha256.slice(0, 16)}…</code></small></li>)}</ul></td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </section>
      <section class="card" aria-labelledby="evidence-items">
        <h2 id="evidence-items">Evidence items (chain order)</h2>
        {evidence.items.length === 0 ? <p>None.</p> : (
          <table>
            <thead><tr><th scope="col">#</th><th scope="col">Kind</th><th scope="col">Collected</th><th scope="col">Bundle</th><th scope="col">Hash</th></tr></thead>
            <tbody>{evidence.items.map((e) => <tr key={e.id}><td>{e.seq}</td><td>{e.kind}</td><td>{e.collected_at.slice(0, 16).replace('T', ' ')}</td><td>{e.bundle_revision ?? '—'}</td><td><code>{e.hash.slice(0, 16)}…</code></td></tr>)}</tbody>
          </table>
        )}
        <p>{evidenceCursor && <button type="button" onClick={() => setEvidenceCursor(undefined)}>First page</button>} {evidence.next && <button type="button" onClick={() => setEvidenceCursor(evidence.next!)}>Next page</button>}</p>
      </section>
    </div>
  );
}

/** A file's bytes as base64, for the JSON body the attestation route takes. */
async function base64(file: File): Promise<string> {
  const bytes = new Uint8Array(await file.arrayBuffer());
  let binary = '';
  for (let i = 0; i < bytes.length; i += 0x8000) binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(binary);
}
