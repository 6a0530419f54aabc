import { useEffect, useState } from 'preact/hooks';
import { api, problemText, type Me } from '../api/client';
import type { paths } from '../api/schema';
import type { Item } from '../api/types';

type Request = Item<'/v1/access/requests'>;
type Grant = Item<'/v1/access/grants'>;
type Principal = Item<'/v1/principals'>;
type Reconciliation = paths['/v1/access/reconcile']['post']['responses'][200]['content']['application/json'];
type Answer = paths['/v1/access/decisions']['post']['responses'][200]['content']['application/json'];
type Check = paths['/v1/access/decisions']['post']['requestBody']['content']['application/json'];

const STORES = ['glue', 's3', 'aurora', 'dynamodb', 'snowflake'] as const;
const REQUESTERS: ReadonlyArray<Me['role']> = ['admin', 'steward', 'compliance_officer'];
const list = (value: FormDataEntryValue | null) => String(value ?? '').split(',').map((s) => s.trim()).filter(Boolean);
const scopeOf = (r: { scope: string; store: string | null; database: string | null; table: string | null; columns: string[]; domain: string | null }) =>
  r.scope === 'table' ? `${r.store ?? ''}:${r.database}.${r.table}${r.columns.length ? ` (${r.columns.join(', ')})` : ''}` : r.scope === 'domain' ? `domain ${r.domain}` : 'LF-tag expression';

/** Access requests (approved or rejected by the domain's owner or steward), grants, drift from Lake Formation, and the decision explorer. */
export function Access({ me }: { me: Me }) {
  const [requests, setRequests] = useState<Request[]>([]);
  const [grants, setGrants] = useState<Grant[]>([]);
  const [principals, setPrincipals] = useState<Principal[]>([]);
  const [comments, setComments] = useState<Record<string, string>>({});
  const [message, setMessage] = useState<{ kind: 'ok' | 'alert'; text: string } | null>(null);
  const [drift, setDrift] = useState<Reconciliation | null>(null);
  const [driftError, setDriftError] = useState<string | null>(null);
  const [answer, setAnswer] = useState<Answer | null>(null);
  const [answerError, setAnswerError] = useState<string | null>(null);
  const canRequest = REQUESTERS.includes(me.role);

  const load = () => {
    api.GET('/v1/access/requests', { params: { query: { limit: 50 } } }).then(({ data }) => setRequests(data?.items ?? []));
    api.GET('/v1/access/grants', { params: { query: { limit: 50 } } }).then(({ data }) => setGrants(data?.items ?? []));
  };
  useEffect(() => {
    load();
    api.GET('/v1/principals', { params: { query: { limit: 200 } as never } }).then(({ data }) => setPrincipals((data?.items ?? []) as Principal[]));
  }, []);

  const requestAccess = async (event: Event) => {
    event.preventDefault();
    const form = new FormData(event.target as HTMLFormElement);
    const columns = list(form.get('columns'));
    const { data, error } = await api.POST('/v1/access/requests', {
      body: {
        principal: String(form.get('principal')),
        scope: 'table',
        ...(form.get('store') ? { store: form.get('store') as (typeof STORES)[number] } : {}),
        database: String(form.get('database')),
        table: String(form.get('table')),
        ...(columns.length ? { columns } : {}),
        permissions: ['SELECT'],
        purpose: String(form.get('purpose')),
        duration_days: Number(form.get('days')),
      },
    });
    setMessage(data ? { kind: 'ok', text: `Access requested for ${data.principal}: the owner or steward of the domain decides.` } : { kind: 'alert', text: problemText(error) });
    if (data) (event.target as HTMLFormElement).reset();
    load();
  };
  const decide = async (r: Request, verb: 'approve' | 'reject') => {
    const comment = (comments[r.id] ?? '').trim();
    if (verb === 'reject' && !comment) return setMessage({ kind: 'alert', text: 'Say why you reject the request: a comment is required.' });
    const { error } = verb === 'approve'
      ? await api.POST('/v1/access/requests/{id}/approve', { params: { path: { id: r.id } }, body: comment ? { comment } : {} })
      : await api.POST('/v1/access/requests/{id}/reject', { params: { path: { id: r.id } }, body: { comment } });
    setMessage(error ? { kind: 'alert', text: problemText(error) } : { kind: 'ok', text: `Request of ${r.principal} ${verb === 'approve' ? 'approved: the grant is being applied' : 'rejected'}.` });
    load();
  };
  const reconcile = async (event: Event) => {
    event.preventDefault();
    const source = String(new FormData(event.target as HTMLFormElement).get('source') ?? '').trim();
    setDrift(null);
    setDriftError(null);
    const { data, error } = await api.POST('/v1/access/reconcile', { body: source ? { source } : {} });
    if (data) setDrift(data);
    else setDriftError(problemText(error));
  };
  const ask = async (event: Event) => {
    event.preventDefault();
    const form = new FormData(event.target as HTMLFormElement);
    const columns = list(form.get('columns'));
    const check: Check = {
      principal: String(form.get('principal')),
      action: form.get('action') as Check['action'],
      resource: { store: form.get('store') as Check['resource']['store'], database: String(form.get('database')), table: String(form.get('table')), ...(columns.length ? { columns } : {}) },
      purpose: String(form.get('purpose')),
    };
    const { data, error } = await api.POST('/v1/access/decisions', { body: check });
    setAnswer(data ?? null);
    setAnswerError(data ? null : problemText(error));
  };

  return (
    <div>
      <datalist id="principals">{principals.map((p) => <option key={p.id} value={p.arn} />)}</datalist>
      {message && <div class={message.kind} role={message.kind === 'alert' ? 'alert' : 'status'}>{message.text}</div>}
      <section class="card" aria-labelledby="requests">
        <h2 id="requests">Access requests</h2>
        {canRequest && (
          <form class="toolbar" onSubmit={requestAccess} aria-label="Request access to a table">
            <label>Principal <input name="principal" list="principals" required size={40} /></label>
            <label>Store <select name="store"><option value="">the only one cataloguing it</option>{STORES.map((s) => <option key={s}>{s}</option>)}</select></label>
            <label>Database <input name="database" required /></label>
            <label>Table <input name="table" required /></label>
            <label>Columns (comma-separated, empty: all) <input name="columns" /></label>
            <label>Purpose <input name="purpose" required maxLength={200} /></label>
            <label>Days <input name="days" type="number" min={1} max={365} value="30" /></label>
            <button type="submit" class="primary">Request SELECT</button>
          </form>
        )}
        <table>
          <thead><tr><th scope="col">Principal</th><th scope="col">Scope</th><th scope="col">Permissions</th><th scope="col">Purpose</th><th scope="col">Requested by</th><th scope="col">Status</th><th scope="col">Decision</th></tr></thead>
          <tbody>
            {requests.map((r) => (
              <tr key={r.id}>
                <td>{r.principal}</td><td>{scopeOf(r)}</td><td>{r.permissions.join(', ')}</td><td>{r.purpose} <small>({r.duration_days} days)</small></td><td>{r.requester}</td>
                <td>{r.status}{r.decided_by && <small> by {r.decided_by}{r.decision_comment ? `: ${r.decision_comment}` : ''}</small>}</td>
                <td>
                  {r.status === 'pending' && canRequest && (
                    <>
                      <input aria-label={`Comment on the request of ${r.principal} for ${scopeOf(r)}`} value={comments[r.id] ?? ''} maxLength={2000} onInput={(e) => setComments({ ...comments, [r.id]: (e.target as HTMLInputElement).value })} />{' '}
                      <button type="button" class="primary" aria-label={`Approve the request of ${r.principal} for ${scopeOf(r)}`} onClick={() => decide(r, 'approve')}>Approve</button>{' '}
                      <button type="button" aria-label={`Reject the request of ${r.principal} for ${scopeOf(r)}`} onClick={() => decide(r, 'reject')}>Reject</button>
                    </>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </section>
      <section class="card" aria-labelledby="grants">
        <h2 id="grants">Grants</h2>
        <table>
          <thead><tr><th scope="col">Principal</th><th scope="col">Scope</th><th scope="col">Permissions</th><th scope="col">Status</th><th scope="col">Expires</th></tr></thead>
          <tbody>{grants.map((g) => <tr key={g.id}><td>{g.principal}</td><td>{scopeOf(g)}</td><td>{g.permissions.join(', ')}</td><td>{g.status}</td><td>{String(g.expires_at).slice(0, 10)}</td></tr>)}</tbody>
        </table>
      </section>
      {(me.role === 'admin' || me.role === 'compliance_officer') && (
        <section class="card" aria-labelledby="drift">
          <h2 id="drift">Drift from Lake Formation</h2>
          <form class="toolbar" onSubmit={reconcile} aria-label="Reconcile grants with Lake Formation">
            <label>Source (empty: the default) <input name="source" /></label>
            <button type="submit" class="primary">Reconcile now</button>
          </form>
          {driftError && <div class="alert" role="alert">Not reconciled: {driftError}</div>}
          {drift && (
            <div role="status">
              <p>Source {drift.source} read at {drift.checked_at.slice(0, 19).replace('T', ' ')}: {drift.counts.permissions} permissions, {drift.counts.active_grants} active grants ({drift.counts.in_flight_grants} in flight, {drift.counts.ignored_admin_permissions} administrator permissions ignored). {drift.unapproved.length} unapproved, {drift.missing.length} missing.</p>
              {drift.unapproved.length > 0 && (
                <table>
                  <caption>Permissions no grant accounts for</caption>
                  <thead><tr><th scope="col">Principal</th><th scope="col">Resource</th><th scope="col">Permissions</th></tr></thead>
                  <tbody>{drift.unapproved.map((u, i) => <tr key={i}><td>{u.principal}</td><td>{u.resource.kind} {u.resource.database ?? ''}{u.resource.table ? `.${u.resource.table}` : ''}</td><td>{u.permissions.join(', ')}</td></tr>)}</tbody>
                </table>
              )}
              {drift.missing.length > 0 && (
                <table>
                  <caption>Grants Lake Formation lacks</caption>
                  <thead><tr><th scope="col">Grant</th><th scope="col">Principal</th><th scope="col">Resource</th><th scope="col">Permissions</th></tr></thead>
                  <tbody>{drift.missing.map((m) => <tr key={m.grant_id}><td>{m.grant_id.slice(0, 13)}</td><td>{m.principal}</td><td>{m.resource.kind} {m.resource.database ?? ''}{m.resource.table ? `.${m.resource.table}` : ''}</td><td>{m.permissions.join(', ')}</td></tr>)}</tbody>
                </table>
              )}
            </div>
          )}
        </section>
      )}
      <section class="card" aria-labelledby="explorer">
        <h2 id="explorer">Decision explorer</h2>
        {me.role !== 'admin' ? <p>Asking for a decision is for admins and pipelines (POST /v1/access/decisions); every answer is in the decision log.</p> : (
          <>
            <form class="toolbar" onSubmit={ask} aria-label="Ask for an access decision">
              <label>Principal <input name="principal" list="principals" required size={40} /></label>
              <label>Action <select name="action">{['select', 'insert', 'delete', 'describe'].map((a) => <option key={a}>{a}</option>)}</select></label>
              <label>Store <select name="store">{STORES.map((s) => <option key={s}>{s}</option>)}</select></label>
              <label>Database <input name="database" required /></label>
              <label>Table <input name="table" required /></label>
              <label>Columns (comma-separated, empty: all) <input name="columns" /></label>
              <label>Purpose <input name="purpose" required maxLength={200} /></label>
              <button type="submit" class="primary">Ask</button>
            </form>
            {answerError && <div class="alert" role="alert">{answerError}</div>}
            {answer && (
              <div role="status" aria-label="Decision">
                <p><strong class={answer.decision === 'allow' ? 'status-passing' : 'status-failing'}>{answer.decision}</strong> (bundle {answer.bundle_revision ?? 'none'}, decision {answer.decision_id ?? 'not logged'})</p>
                <ul>{answer.reasons.map((r, i) => <li key={i}><code>{r.code}</code>{r.column ? ` ${r.column}` : ''}: {r.message}</li>)}</ul>
                {Object.keys(answer.obligations.mask).length > 0 && (
                  <table>
                    <caption>Masks to apply</caption>
                    <thead><tr><th scope="col">Column</th><th scope="col">Rule</th><th scope="col">Strategy</th></tr></thead>
                    <tbody>{Object.entries(answer.obligations.mask).map(([column, m]) => <tr key={column}><td>{column}</td><td>{m.rule}</td><td>{m.strategy} {Object.keys(m.params).length ? JSON.stringify(m.params) : ''}</td></tr>)}</tbody>
                  </table>
                )}
                {answer.obligations.row_filter && <p>Row filter: <code>{answer.obligations.row_filter}</code></p>}
                {answer.grants.length > 0 && <p>Grants that applied: {answer.grants.join(', ')}</p>}
              </div>
            )}
          </>
        )}
      </section>
    </div>
  );
}
