import { useEffect, useState } from 'preact/hooks';
import { api, problemText, type Me } from '../api/client';
import type { paths } from '../api/schema';
import type { Item } from '../api/types';
import { PendingChanges } from './approvals';

type Bundle = Item<'/v1/policy-bundles'>;
type Rule = Item<'/v1/policies'>;
type Decision = Item<'/v1/decisions'>;
type Impact = paths['/v1/policy-bundles/{id}/impact']['post']['responses'][200]['content']['application/json'];
type Replay = paths['/v1/decisions/{id}/replay']['post']['responses'][200]['content']['application/json'];

const RISK_OWNERS: ReadonlyArray<Me['role']> = ['admin', 'compliance_officer'];
const OVERSIGHT: ReadonlyArray<Me['role']> = ['admin', 'compliance_officer', 'auditor'];
const show = (value: unknown) => (value === undefined ? '—' : JSON.stringify(value));
/** An access decision's allow/deny, or whether a policy decision was defined. */
const outcome = (d: Decision) => {
  const result = d.result as { decision?: string } | null;
  return d.error ? `error: ${d.error}` : result && typeof result === 'object' && 'decision' in result ? String(result.decision) : d.defined ? 'defined' : 'undefined';
};

/** Bundles (activate with a second approver, impact of a candidate), rules with their metadata, and the decision log with explain and replay. */
export function Policies({ me }: { me: Me }) {
  const [bundles, setBundles] = useState<Bundle[]>([]);
  const [rules, setRules] = useState<{ revision: string; items: Rule[] }>({ revision: '', items: [] });
  const [message, setMessage] = useState<{ kind: 'ok' | 'alert'; text: string } | null>(null);
  const [proposed, setProposed] = useState(0);
  const [impact, setImpact] = useState<Impact | null>(null);
  const [analysing, setAnalysing] = useState<string | null>(null);
  const canActivate = RISK_OWNERS.includes(me.role);
  const oversight = OVERSIGHT.includes(me.role);

  const loadBundles = () => api.GET('/v1/policy-bundles', { params: { query: { limit: 20 } } }).then(({ data }) => setBundles(data?.items ?? []));
  useEffect(() => {
    loadBundles();
    api.GET('/v1/policies', { params: { query: { limit: 500 } } }).then(({ data }) => setRules({ revision: data?.bundle_revision ?? '', items: data?.items ?? [] }));
  }, []);

  const activate = async (b: Bundle) => {
    const { data, error, response } = await api.POST('/v1/policy-bundles/{id}/activate', { params: { path: { id: b.id } } });
    if (!data) return setMessage({ kind: 'alert', text: problemText(error) });
    // Activation is a pending change (202): a second compliance officer or an admin approves it below.
    setMessage({ kind: 'ok', text: response.status === 202 ? `Activation of ${b.revision} proposed: a second person approves it (pending changes below).` : `${b.revision} is the active bundle.` });
    setProposed(proposed + 1);
    loadBundles();
  };
  const analyse = async (b: Bundle) => {
    setAnalysing(b.revision);
    setImpact(null);
    const { data, error } = await api.POST('/v1/policy-bundles/{id}/impact', { params: { path: { id: b.id } }, body: {} });
    setAnalysing(null);
    if (data) setImpact(data);
    else setMessage({ kind: 'alert', text: `No impact analysis of ${b.revision}: ${problemText(error)}` });
  };

  return (
    <div>
      {message && <div class={message.kind} role={message.kind === 'alert' ? 'alert' : 'status'}>{message.text}</div>}
      <section class="card" aria-labelledby="bundles">
        <h2 id="bundles">Bundles</h2>
        <table>
          <thead><tr><th scope="col">Revision</th><th scope="col">SHA-256</th><th scope="col">Rules</th><th scope="col">Uploaded</th><th scope="col">Status</th><th scope="col"><span class="sr-only">Actions</span></th></tr></thead>
          <tbody>
            {bundles.map((b) => (
              <tr key={b.id}>
                <td>{b.revision}</td><td><code>{b.sha256.slice(0, 16)}…</code></td><td>{b.rule_count}</td><td>{b.uploaded_at.slice(0, 16).replace('T', ' ')} by {b.uploaded_by}</td>
                <td>{b.active ? `active since ${String(b.activated_at ?? '').slice(0, 10)}${b.activated_by ? ` (${b.activated_by})` : ''}` : 'stored'}</td>
                <td>
                  {!b.active && oversight && <button type="button" aria-label={`Impact of ${b.revision}`} onClick={() => analyse(b)} disabled={analysing !== null}>Impact</button>}{' '}
                  {!b.active && canActivate && <button type="button" class="primary" aria-label={`Activate ${b.revision}`} onClick={() => activate(b)}>Activate</button>}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
        {analysing && <p role="status">Analysing {analysing} against the active bundle…</p>}
        {impact && <ImpactView impact={impact} />}
      </section>
      <PendingChanges me={me} entity="policy-bundles" title="Bundle activations waiting for a second person" refresh={proposed} onDecided={loadBundles} />
      <section class="card" aria-labelledby="rules">
        <h2 id="rules">Rules of the active bundle {rules.revision && <small>({rules.revision})</small>}</h2>
        <table>
          <thead><tr><th scope="col">Rule</th><th scope="col">Title</th><th scope="col">Severity</th><th scope="col">Controls</th><th scope="col">Resource types</th><th scope="col">Remediation</th></tr></thead>
          <tbody>
            {rules.items.map((r) => (
              <tr key={r.id}>
                <td><code>{r.id}</code><br /><small>{r.package}</small></td>
                <td><details><summary>{r.title}</summary><small>{r.description}</small></details></td>
                <td>{r.severity}</td><td>{r.controls.join(', ')}</td><td>{r.resource_types.join(', ')}</td>
                <td>{r.remediation || '—'}{r.auto_remediate ? ' (automatic when low risk)' : ''}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </section>
      {oversight && <DecisionLog me={me} />}
    </div>
  );
}

/** What activating a candidate would change, as the impact route answers (not tested is never "no change"). */
function ImpactView({ impact }: { impact: Impact }) {
  const f = impact.findings;
  const d = impact.decisions;
  return (
    <div aria-label={`Impact of ${impact.bundle.revision}`} role="region">
      <h3>Impact of {impact.bundle.revision} against the active {impact.baseline.revision}</h3>
      {f.status === 'not_tested' ? <p>Findings: not tested ({f.reason}).</p> : (
        <p>Findings over the collection of {String(f.observed_at ?? '').slice(0, 16).replace('T', ' ')}: {f.counts.would_appear} would appear, {f.counts.would_disappear} would disappear, {f.counts.unchanged} unchanged{f.truncated ? ' (lists truncated)' : ''}.</p>
      )}
      {[['Findings that would appear', f.would_appear], ['Findings that would disappear', f.would_disappear]].map(([caption, items]) =>
        (items as Impact['findings']['would_appear']).length > 0 && (
          <table key={caption as string}>
            <caption>{caption as string}</caption>
            <thead><tr><th scope="col">Rule</th><th scope="col">Severity</th><th scope="col">Resource</th><th scope="col">Message</th></tr></thead>
            <tbody>{(items as Impact['findings']['would_appear']).slice(0, 50).map((x, i) => <tr key={i}><td>{x.rule_id}</td><td>{x.severity}</td><td>{x.resource.type} {x.resource.id}</td><td>{x.msg}</td></tr>)}</tbody>
          </table>
        ),
      )}
      <p>Decisions: {d.evaluated} of the latest {d.requested} evaluated; {d.counts.flipped} would flip, {d.counts.changed} change otherwise, {d.counts.unchanged} unchanged, {d.counts.skipped} skipped, {d.counts.failed} failed{d.truncated ? ' (lists truncated)' : ''}.</p>
      {d.flipped.length > 0 && (
        <table>
          <caption>Decisions that would flip</caption>
          <thead><tr><th scope="col">Decision</th><th scope="col">Entry point</th><th scope="col">Now</th><th scope="col">With the candidate</th></tr></thead>
          <tbody>{d.flipped.slice(0, 50).map((x) => <tr key={x.id}><td>{x.at.slice(0, 16).replace('T', ' ')} <small>{x.id.slice(0, 13)}</small></td><td>{x.entrypoint}</td><td>{x.baseline.decision ?? (x.baseline.defined ? 'defined' : 'undefined')}</td><td>{x.candidate.decision ?? (x.candidate.defined ? 'defined' : 'undefined')}</td></tr>)}</tbody>
        </table>
      )}
    </div>
  );
}

/** The decision log, newest first; explain one (its input and result) or replay it with the active bundle. */
function DecisionLog({ me }: { me: Me }) {
  const [cursor, setCursor] = useState<string | undefined>();
  const [page, setPage] = useState<{ items: Decision[]; next: string | null }>({ items: [], next: null });
  const [explained, setExplained] = useState<Decision | null>(null);
  const [replay, setReplay] = useState<Replay | null>(null);
  const [message, setMessage] = useState<string | null>(null);
  useEffect(() => {
    api.GET('/v1/decisions', { params: { query: { limit: 20, ...(cursor ? { cursor } : {}) } } }).then(({ data }) => setPage({ items: data?.items ?? [], next: data?.next_cursor ?? null }));
  }, [cursor]);

  const replayOne = async (d: Decision) => {
    setReplay(null);
    setExplained(d);
    const { data, error } = await api.POST('/v1/decisions/{id}/replay', { params: { path: { id: d.id } }, body: {} });
    setReplay(data ?? null);
    setMessage(data ? null : `Not replayed: ${problemText(error)}`);
  };

  return (
    <section class="card" aria-labelledby="decision-log">
      <h2 id="decision-log">Decision log</h2>
      <table>
        <thead><tr><th scope="col">At</th><th scope="col">Entry point</th><th scope="col">Asked by</th><th scope="col">Bundle</th><th scope="col">Outcome</th><th scope="col"><span class="sr-only">Actions</span></th></tr></thead>
        <tbody>
          {page.items.map((d) => (
            <tr key={d.id} aria-selected={explained?.id === d.id}>
              <td>{d.at.slice(0, 19).replace('T', ' ')}</td><td>{d.entrypoint}</td><td>{d.actor} <small>({d.role})</small></td><td>{d.bundle_revision ?? '—'}</td><td>{outcome(d)}</td>
              <td>
                <button type="button" aria-label={`Explain decision ${d.id}`} onClick={() => { setExplained(d); setReplay(null); setMessage(null); }}>Explain</button>{' '}
                <button type="button" aria-label={`Replay decision ${d.id}`} onClick={() => replayOne(d)}>Replay</button>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      <p>{cursor && <button type="button" onClick={() => setCursor(undefined)}>Newest</button>} {page.next && <button type="button" onClick={() => setCursor(page.next!)}>Older</button>}</p>
      {message && <div class="alert" role="alert">{message}</div>}
      {explained && !replay && (
        <div role="region" aria-label="Explanation">
          <h3>Decision {explained.id} <small>({explained.duration_ms.toFixed(1)} ms, request {explained.request_id ?? '—'})</small></h3>
          <h4>Input</h4><pre class="diff">{JSON.stringify(explained.input, null, 2)}</pre>
          <h4>Result</h4><pre class="diff">{JSON.stringify(explained.result, null, 2)}</pre>
        </div>
      )}
      {replay && (
        <div role="region" aria-label="Replay">
          <h3>Replay of {replay.decision_id}</h3>
          <p role="status">
            {replay.changed ? `The active bundle ${replay.current.bundle_revision} answers differently from ${replay.original.bundle_revision}.` : `The active bundle ${replay.current.bundle_revision} answers as ${replay.original.bundle_revision} did.`}{' '}
            {replay.reproduces_log ? 'The original bundle, replayed now, gives the logged answer.' : 'The original bundle, replayed now, does not give the logged answer (the data it reads changed since).'}
          </p>
          <p><small>Read besides the logged input: {replay.data}.{replay.pii.carries_pii ? ` The input carries PII (${me.role}).` : ''}</small></p>
          {replay.differences.length > 0 && (
            <table>
              <caption>What differs{replay.differences_truncated ? ' (first 100)' : ''}</caption>
              <thead><tr><th scope="col">Path</th><th scope="col">Change</th><th scope="col">With {replay.original.bundle_revision}</th><th scope="col">With {replay.current.bundle_revision}</th></tr></thead>
              <tbody>{replay.differences.map((x, i) => <tr key={i}><td><code>{x.path}</code></td><td>{x.change}</td><td><code>{show(x.before)}</code></td><td><code>{show(x.after)}</code></td></tr>)}</tbody>
            </table>
          )}
        </div>
      )}
    </section>
  );
}
