import { useEffect, useState } from 'preact/hooks';
import { api, problemText, type Me } from '../api/client';

/** Controls with their status and reason. */
export function Controls(_: { me: Me }) {
  const [items, setItems] = useState<Array<{ id: string; title: string; category: string; status: string; reason: string; open_findings: number; rules: string[] }>>([]);
  useEffect(() => { api.GET('/v1/controls').then(({ data }) => setItems(data?.items ?? [])); }, []);
  return (
    <table>
      <thead><tr><th scope="col">Control</th><th scope="col">Category</th><th scope="col">Status</th><th scope="col">Why</th><th scope="col">Open findings</th><th scope="col">Tested by</th></tr></thead>
      <tbody>{items.map((c) => <tr key={c.id}><td>{c.id} {c.title}</td><td>{c.category}</td><td class={`status-${c.status}`}>{c.status.replace('_', ' ')}</td><td>{c.reason}</td><td>{c.open_findings}</td><td>{c.rules.join(', ') || '—'}</td></tr>)}</tbody>
    </table>
  );
}

/** Access requests and grants, and the decision explorer. */
export function Access({ me }: { me: Me }) {
  const [requests, setRequests] = useState<Array<Record<string, any>>>([]);
  const [grants, setGrants] = useState<Array<Record<string, any>>>([]);
  const [answer, setAnswer] = useState<string>('');
  useEffect(() => {
    api.GET('/v1/access/requests', { params: { query: { limit: 50 } as never } }).then(({ data }) => setRequests((data?.items ?? []) as never));
    api.GET('/v1/access/grants', { params: { query: { limit: 50 } as never } }).then(({ data }) => setGrants((data?.items ?? []) as never));
  }, []);
  const ask = async (event: Event) => {
    event.preventDefault();
    const form = new FormData(event.target as HTMLFormElement);
    let body: unknown;
    try {
      body = JSON.parse(String(form.get('question')));
    } catch {
      return setAnswer('The question is not valid JSON.');
    }
    const { data, error } = await api.POST('/v1/decisions', { body: body as never });
    setAnswer(data ? JSON.stringify(data, null, 2) : problemText(error));
  };
  return (
    <div>
      <section class="card" aria-labelledby="requests"><h2 id="requests">Access requests</h2>
        <table><thead><tr><th scope="col">Principal</th><th scope="col">Scope</th><th scope="col">Status</th><th scope="col">Requested by</th></tr></thead>
          <tbody>{requests.map((r) => <tr key={r.id}><td>{r.principal}</td><td>{r.scope} {r.database ?? ''}{r.table ? `.${r.table}` : ''}</td><td>{r.status}</td><td>{r.requester}</td></tr>)}</tbody></table>
      </section>
      <section class="card" aria-labelledby="grants"><h2 id="grants">Grants</h2>
        <table><thead><tr><th scope="col">Principal</th><th scope="col">Status</th><th scope="col">Expires</th></tr></thead>
          <tbody>{grants.map((g) => <tr key={g.id}><td>{g.principal}</td><td>{g.status}</td><td>{String(g.expires_at).slice(0, 10)}</td></tr>)}</tbody></table>
      </section>
      {me.role !== 'auditor' && (
        <section class="card" aria-labelledby="explorer"><h2 id="explorer">Decision explorer</h2>
          <form onSubmit={ask}>
            <label>Question (the JSON a pipeline sends to POST /v1/decisions)<br />
              <textarea name="question" rows={6} cols={70} required>{'{\n  "principal": "analyst",\n  "action": "read",\n  "resource": { "store": "glue", "database": "wealth", "table": "clients" }\n}'}</textarea>
            </label>
            <p><button type="submit" class="primary">Ask</button></p>
          </form>
          {answer && <pre class="diff" aria-live="polite">{answer}</pre>}
        </section>
      )}
    </div>
  );
}

/** Policy bundles and rules with their metadata. */
export function Policies(_: { me: Me }) {
  const [bundles, setBundles] = useState<Array<Record<string, any>>>([]);
  const [rules, setRules] = useState<Array<Record<string, any>>>([]);
  useEffect(() => {
    api.GET('/v1/policy-bundles', { params: { query: { limit: 20 } as never } }).then(({ data }) => setBundles((data?.items ?? []) as never));
    api.GET('/v1/policies').then(({ data }) => setRules(((data as { rules?: unknown[]; items?: unknown[] } | undefined)?.rules ?? (data as { items?: unknown[] } | undefined)?.items ?? []) as never));
  }, []);
  return (
    <div>
      <section class="card" aria-labelledby="bundles"><h2 id="bundles">Bundles</h2>
        <table><thead><tr><th scope="col">Revision</th><th scope="col">Status</th><th scope="col">Uploaded</th></tr></thead>
          <tbody>{bundles.map((b) => <tr key={b.id}><td>{b.revision}</td><td>{b.status ?? (b.active ? 'active' : '')}</td><td>{String(b.created_at ?? '').slice(0, 16)}</td></tr>)}</tbody></table>
      </section>
      <section class="card" aria-labelledby="rules"><h2 id="rules">Rules</h2>
        <table><thead><tr><th scope="col">Rule</th><th scope="col">Title</th><th scope="col">Severity</th><th scope="col">Controls</th></tr></thead>
          <tbody>{rules.map((r) => <tr key={r.id}><td>{r.id}</td><td>{r.title}</td><td>{r.severity}</td><td>{(r.controls ?? []).join(', ')}</td></tr>)}</tbody></table>
      </section>
    </div>
  );
}
