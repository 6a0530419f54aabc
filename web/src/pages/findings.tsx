import { useEffect, useState } from 'preact/hooks';
import { api, problemText, type Me } from '../api/client';
import type { Item, Json } from '../api/types';

type Finding = Item<'/v1/findings'>;
type Remediation = Json<'/v1/remediations/{id}'>;
type Exception = Item<'/v1/exceptions'>;

const GROUPS = { none: 'No grouping', rule_id: 'Rule', account: 'Account', severity: 'Severity' } as const;

/** Findings with filters, grouping, exceptions (request and second-person approval) and remediation plans with their diff. */
export function Findings({ me }: { me: Me }) {
  const initial = new URLSearchParams(location.search);
  const [filters, setFilters] = useState({ severity: '', status: 'open', rule: initial.get('rule') ?? '' });
  const [group, setGroup] = useState<keyof typeof GROUPS>('none');
  const [cursor, setCursor] = useState<string | undefined>(undefined);
  const [page, setPage] = useState<{ items: Finding[]; next: string | null }>({ items: [], next: null });
  const [selected, setSelected] = useState<Finding | null>(null);
  const [pending, setPending] = useState<Exception[]>([]);
  const [plan, setPlan] = useState<Remediation | null>(null);
  const [message, setMessage] = useState<{ kind: 'ok' | 'alert'; text: string } | null>(null);
  const canAct = me.role === 'admin' || me.role === 'compliance_officer';

  const load = async () => {
    const query = Object.fromEntries(Object.entries({ ...filters, ...(cursor ? { cursor } : {}) }).filter(([, v]) => v));
    const { data } = await api.GET('/v1/findings', { params: { query: { limit: 50, ...query } as never } });
    setPage({ items: (data?.items ?? []) as Finding[], next: data?.next_cursor ?? null });
  };
  const loadPending = async () => {
    const { data } = await api.GET('/v1/exceptions', { params: { query: { status: 'pending', limit: 50 } as never } });
    setPending((data?.items ?? []) as Exception[]);
  };
  useEffect(() => { load(); }, [JSON.stringify(filters), cursor]);
  useEffect(() => { loadPending(); }, []);

  const requestException = async (event: Event) => {
    event.preventDefault();
    const form = new FormData(event.target as HTMLFormElement);
    const days = Number(form.get('days'));
    const { data, error } = await api.POST('/v1/exceptions', {
      body: { finding_id: selected!.id, justification: String(form.get('justification')), compensating_control: String(form.get('compensating')), expires_at: new Date(Date.now() + days * 86_400_000).toISOString() },
    });
    setMessage(data ? { kind: 'ok', text: `Exception requested (${data.id}); a second compliance officer approves it.` } : { kind: 'alert', text: problemText(error) });
    loadPending();
  };
  const decide = async (id: string, verb: 'approve' | 'reject') => {
    const { error } = verb === 'approve'
      ? await api.POST('/v1/exceptions/{id}/approve', { params: { path: { id } }, body: {} })
      : await api.POST('/v1/exceptions/{id}/reject', { params: { path: { id } }, body: { note: 'rejected in the console' } as never });
    setMessage(error ? { kind: 'alert', text: problemText(error) } : { kind: 'ok', text: `Exception ${verb === 'approve' ? 'approved' : 'rejected'}.` });
    loadPending();
    load();
  };
  const planRemediation = async () => {
    const { data, error } = await api.POST('/v1/remediations', { body: { finding_id: selected!.id } });
    if (!data) return setMessage({ kind: 'alert', text: problemText(error) });
    const full = await api.GET('/v1/remediations/{id}', { params: { path: { id: (data as { id: string }).id } } });
    setPlan(full.data ?? null);
    setMessage({ kind: 'ok', text: 'Remediation planned (dry run); a second person approves before it runs.' });
  };

  const groups = new Map<string, Finding[]>();
  for (const f of page.items) {
    const key = group === 'none' ? '' : String(f[group]);
    if (!groups.has(key)) groups.set(key, []);
    groups.get(key)!.push(f);
  }
  const set = (field: keyof typeof filters) => (e: Event) => { setCursor(undefined); setFilters({ ...filters, [field]: (e.target as HTMLInputElement).value }); };

  return (
    <div>
      <form class="toolbar" role="search" onSubmit={(e) => e.preventDefault()}>
        <label>Severity <select value={filters.severity} onChange={set('severity')}><option value="">any</option>{['critical', 'high', 'medium', 'low'].map((s) => <option key={s}>{s}</option>)}</select></label>
        <label>Status <select value={filters.status} onChange={set('status')}><option value="">any</option>{['open', 'excepted', 'resolved'].map((s) => <option key={s}>{s}</option>)}</select></label>
        <label>Rule <input value={filters.rule} onChange={set('rule')} placeholder="e.g. s3.bucket_versioning" /></label>
        <label>Group by <select value={group} onChange={(e) => setGroup((e.target as HTMLSelectElement).value as keyof typeof GROUPS)}>{Object.entries(GROUPS).map(([k, v]) => <option key={k} value={k}>{v}</option>)}</select></label>
      </form>
      {message && <div class={message.kind} role={message.kind === 'alert' ? 'alert' : 'status'}>{message.text}</div>}
      {[...groups].map(([key, items]) => (
        <section key={key} aria-label={key ? `${GROUPS[group]} ${key}` : 'Findings'}>
          {key && <h2>{GROUPS[group]}: {key} ({items.length})</h2>}
          <table>
            <thead><tr><th scope="col">Severity</th><th scope="col">Rule</th><th scope="col">Resource</th><th scope="col">Account</th><th scope="col">Status</th><th scope="col">Message</th></tr></thead>
            <tbody>
              {items.map((f) => (
                <tr key={f.id} aria-selected={selected?.id === f.id}>
                  <td>{f.severity}</td><td>{f.rule_id}</td>
                  <td><button type="button" onClick={() => { setSelected(f); setPlan(null); setMessage(null); }}>{f.resource_id}</button></td>
                  <td>{f.account}</td><td>{f.status}</td><td>{f.msg}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </section>
      ))}
      <p>{cursor && <button type="button" onClick={() => setCursor(undefined)}>First page</button>} {page.next && <button type="button" onClick={() => setCursor(page.next!)}>Next page</button>}</p>

      {selected && canAct && (
        <section class="card" aria-labelledby="triage">
          <h2 id="triage">Triage {selected.rule_id} on {selected.resource_id}</h2>
          <form onSubmit={requestException}>
            <fieldset>
              <legend>Request an exception</legend>
              <label>Justification <textarea name="justification" required minLength={10} rows={2} cols={50} /></label>
              <label>Compensating control <input name="compensating" required size={40} /></label>
              <label>Expires in (days) <input name="days" type="number" min={1} max={365} value="30" /></label>
              <button type="submit" class="primary">Request exception</button>
            </fieldset>
          </form>
          <p><button type="button" onClick={planRemediation}>Plan a remediation</button></p>
          {plan && (
            <div>
              <h3>Plan {plan.action} ({plan.status}, risk {plan.risk})</h3>
              {plan.resources.map((r) => (
                <div key={r.id}>
                  <p>{r.resource_type} {r.resource_id}</p>
                  <pre class="diff" aria-label={`Before and after for ${r.resource_id}`}>{diffLines(r.before, r.after)}</pre>
                </div>
              ))}
            </div>
          )}
        </section>
      )}

      <section class="card" aria-labelledby="queue">
        <h2 id="queue">Exception requests waiting for a decision</h2>
        {pending.length === 0 ? <p>None.</p> : (
          <table>
            <thead><tr><th scope="col">Rule</th><th scope="col">Scope</th><th scope="col">Justification</th><th scope="col">Requested by</th><th scope="col">Decision</th></tr></thead>
            <tbody>
              {pending.map((x) => (
                <tr key={x.id}>
                  <td>{x.rule_id}</td><td>{x.resource_pattern}</td><td>{x.justification}</td><td>{x.requested_by}</td>
                  <td>{canAct && <><button type="button" class="primary" onClick={() => decide(x.id, 'approve')}>Approve</button> <button type="button" onClick={() => decide(x.id, 'reject')}>Reject</button></>}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </section>
    </div>
  );
}

/** A line diff of two JSON states: `-` before only, `+` after only. */
function diffLines(before: unknown, after: unknown): string {
  const a = JSON.stringify(before, null, 2).split('\n');
  const b = JSON.stringify(after, null, 2).split('\n');
  const inB = new Set(b);
  const inA = new Set(a);
  return [...a.map((l) => (inB.has(l) ? `  ${l}` : `- ${l}`)), ...b.filter((l) => !inA.has(l)).map((l) => `+ ${l}`)].join('\n');
}
