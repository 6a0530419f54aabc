import { useEffect, useState } from 'preact/hooks';
import { api, problemText, type Me } from '../api/client';
import type { paths } from '../api/schema';
import type { Item } from '../api/types';

type Items<P extends keyof paths> = Array<Item<P>>;
const ROLES = ['admin', 'steward', 'compliance_officer', 'auditor', 'pipeline'] as const;
const PERSON_ROLES = ['admin', 'compliance_officer', 'steward', 'auditor'] as const;

/** API keys, IdP group → role mappings, sources and collection runs, the audit log. */
export function Admin({ me }: { me: Me }) {
  const [keys, setKeys] = useState<Items<'/v1/api-keys'>>([]);
  const [mappings, setMappings] = useState<Items<'/v1/role-mappings'>>([]);
  const [runs, setRuns] = useState<Items<'/v1/collections'>>([]);
  const [sources, setSources] = useState<Items<'/v1/sources'>>([]);
  const [audit, setAudit] = useState<Items<'/v1/audit-log'>>([]);
  const [auditCursor, setAuditCursor] = useState<string | undefined>();
  const [auditNext, setAuditNext] = useState<string | null>(null);
  const [auditEntity, setAuditEntity] = useState('');
  const [created, setCreated] = useState<{ name: string; key: string } | null>(null);
  const [message, setMessage] = useState<{ kind: 'ok' | 'alert'; text: string } | null>(null);
  const isAdmin = me.role === 'admin';
  const canCollect = isAdmin || me.role === 'compliance_officer';

  const reload = () => {
    api.GET('/v1/api-keys', { params: { query: { limit: 100 } } }).then(({ data }) => setKeys(data?.items ?? []));
    api.GET('/v1/role-mappings', { params: { query: { limit: 100 } } }).then(({ data }) => setMappings(data?.items ?? []));
    api.GET('/v1/collections', { params: { query: { limit: 10 } } }).then(({ data }) => setRuns(data?.items ?? []));
    api.GET('/v1/sources', { params: { query: { limit: 100 } } }).then(({ data }) => setSources(data?.items ?? []));
  };
  useEffect(reload, []);
  // Live progress: while a run is queued or running, it is read again every two seconds.
  const live = runs.filter((r) => r.status === 'queued' || r.status === 'running').map((r) => r.id).join(',');
  useEffect(() => {
    if (!live) return;
    const timer = setInterval(async () => {
      const fresh = await Promise.all(live.split(',').map((id) => api.GET('/v1/collections/{id}', { params: { path: { id } } }).then(({ data }) => data)));
      setRuns((current) => current.map((r) => fresh.find((f) => f?.id === r.id) ?? r));
    }, 2000);
    return () => clearInterval(timer);
  }, [live]);
  useEffect(() => {
    api.GET('/v1/audit-log', { params: { query: { limit: 20, ...(auditCursor ? { cursor: auditCursor } : {}), ...(auditEntity ? { entity: auditEntity } : {}) } } }).then(({ data }) => {
      setAudit(data?.items ?? []);
      setAuditNext(data?.next_cursor ?? null);
    });
  }, [auditCursor, auditEntity, keys.length, mappings.length]);

  const createKey = async (event: Event) => {
    event.preventDefault();
    const form = new FormData(event.target as HTMLFormElement);
    const { data, error } = await api.POST('/v1/api-keys', { body: { name: String(form.get('name')), role: form.get('role') as (typeof ROLES)[number] } });
    if (data) {
      setCreated({ name: data.name, key: data.key });
      setMessage(null);
      (event.target as HTMLFormElement).reset();
    } else setMessage({ kind: 'alert', text: problemText(error) });
    reload();
  };
  const revokeKey = async (id: string) => {
    const { error } = await api.DELETE('/v1/api-keys/{id}', { params: { path: { id } } });
    setMessage(error ? { kind: 'alert', text: problemText(error) } : { kind: 'ok', text: 'Key revoked.' });
    reload();
  };
  const mapGroup = async (event: Event) => {
    event.preventDefault();
    const form = new FormData(event.target as HTMLFormElement);
    const group = String(form.get('group'));
    const role = form.get('role') as (typeof PERSON_ROLES)[number];
    const { data, error, response } = await api.POST('/v1/role-mappings', { body: { group, role } });
    // 202: a mapping gives the role to a whole group, so a second admin approves it (Approvals page).
    const text = response.status === 202 ? `Mapping of ${group} to ${role} proposed: a second admin approves it on the Approvals page.` : `People in ${group} now sign in as ${role}.`;
    setMessage(data ? { kind: 'ok', text } : { kind: 'alert', text: problemText(error) });
    if (data) (event.target as HTMLFormElement).reset();
    reload();
  };
  const collect = async (names?: string[]) => {
    const { data, error } = await api.POST('/v1/collections', { body: names ? { sources: names } : {} });
    setMessage(data ? { kind: 'ok', text: `Collection run started (${data.status}); its progress shows below.` } : { kind: 'alert', text: problemText(error) });
    reload();
  };
  const unmap = async (id: string) => {
    const { error } = await api.DELETE('/v1/role-mappings/{id}', { params: { path: { id } } });
    setMessage(error ? { kind: 'alert', text: problemText(error) } : { kind: 'ok', text: 'Mapping removed.' });
    reload();
  };

  return (
    <div>
      {message && <div class={message.kind} role={message.kind === 'alert' ? 'alert' : 'status'}>{message.text}</div>}
      <section class="card" aria-labelledby="keys">
        <h2 id="keys">API keys</h2>
        {created && <div class="ok" role="status">Key <strong>{created.name}</strong> (shown once, copy it now): <code>{created.key}</code></div>}
        {isAdmin && (
          <form class="toolbar" onSubmit={createKey} aria-label="Create an API key">
            <label>Name <input name="name" required maxLength={100} /></label>
            <label>Role <select name="role">{ROLES.map((r) => <option key={r}>{r}</option>)}</select></label>
            <button type="submit" class="primary">Create key</button>
          </form>
        )}
        <table>
          <thead><tr><th scope="col">Name</th><th scope="col">Role</th><th scope="col">Prefix</th><th scope="col">Created</th><th scope="col"><span class="sr-only">Actions</span></th></tr></thead>
          <tbody>{keys.map((k) => <tr key={k.id}><td>{k.name}</td><td>{k.role}</td><td><code>{k.key_prefix}</code></td><td>{k.created_at.slice(0, 16)} by {k.created_by}</td><td>{isAdmin && <button type="button" onClick={() => revokeKey(k.id)} aria-label={`Revoke ${k.name}`}>Revoke</button>}</td></tr>)}</tbody>
        </table>
      </section>
      <section class="card" aria-labelledby="mappings">
        <h2 id="mappings">Role mappings (IdP group → role)</h2>
        {isAdmin && (
          <form class="toolbar" onSubmit={mapGroup} aria-label="Map a group to a role">
            <label>Group <input name="group" required maxLength={200} /></label>
            <label>Role <select name="role">{PERSON_ROLES.map((r) => <option key={r}>{r}</option>)}</select></label>
            <button type="submit" class="primary">Map group</button>
          </form>
        )}
        <table>
          <thead><tr><th scope="col">Group</th><th scope="col">Role</th><th scope="col">Created by</th><th scope="col"><span class="sr-only">Actions</span></th></tr></thead>
          <tbody>{mappings.map((m) => <tr key={m.id}><td>{m.group}</td><td>{m.role}</td><td>{m.created_by}</td><td>{isAdmin && <button type="button" onClick={() => unmap(m.id)} aria-label={`Remove mapping of ${m.group}`}>Remove</button>}</td></tr>)}</tbody>
        </table>
      </section>
      <section class="card" aria-labelledby="runs">
        <h2 id="runs">Sources and collection runs</h2>
        {sources.length === 0 ? <p>No source registered: register an AWS account and region with POST /v1/sources, or import a snapshot.</p> : <table>
          <caption class="sr-only">Sources</caption>
          <thead><tr><th scope="col">Source</th><th scope="col">Account</th><th scope="col">Region</th><th scope="col">Collectors</th><th scope="col">Enabled</th><th scope="col"><span class="sr-only">Actions</span></th></tr></thead>
          <tbody>{sources.map((s) => <tr key={s.id}><td>{s.name}</td><td>{s.account_id}</td><td>{s.region}</td><td>{s.services.join(', ')}</td><td>{s.enabled ? 'yes' : 'no'}</td><td>{canCollect && s.enabled && <button type="button" aria-label={`Collect from ${s.name} now`} onClick={() => collect([s.name])}>Collect now</button>}</td></tr>)}</tbody>
        </table>}
        {canCollect && sources.some((s) => s.enabled) && <p><button type="button" class="primary" onClick={() => collect()}>Collect from every enabled source</button></p>}
        <table>
          <caption class="sr-only">Collection runs, newest first</caption>
          <thead><tr><th scope="col">Started</th><th scope="col">Trigger</th><th scope="col">By</th><th scope="col">Status</th><th scope="col">Progress</th><th scope="col">Gaps</th></tr></thead>
          <tbody>
            {runs.map((r) => {
              const label = `${r.progress.done} of ${r.progress.total}${r.progress.current ? `, now ${r.progress.current}` : ''}`;
              return (
                <tr key={r.id}>
                  <td>{String(r.started_at ?? r.created_at).slice(0, 16).replace('T', ' ')}</td><td>{r.trigger}</td><td>{r.requested_by}</td>
                  <td>{r.status}{r.error ? `: ${r.error}` : ''}</td>
                  <td>
                    {r.progress.total > 0 && <progress max={r.progress.total} value={r.progress.done} aria-label={`Progress of the run started ${String(r.started_at ?? r.created_at).slice(0, 16)}`} />}{' '}
                    <span aria-live={r.status === 'running' || r.status === 'queued' ? 'polite' : undefined}>{r.progress.total > 0 ? label : '—'}</span>
                    {r.duration_ms !== null && <small> ({Math.round(r.duration_ms / 1000)} s)</small>}
                  </td>
                  <td>{r.gaps.length ? r.gaps.slice(0, 3).join('; ') + (r.gaps.length > 3 ? ` (+${r.gaps.length - 3})` : '') : '—'}</td>
                </tr>
              );
            })}
          </tbody>
        </table>
      </section>
      <section class="card" aria-labelledby="audit">
        <h2 id="audit">Audit log</h2>
        <label>Entity <input value={auditEntity} onChange={(e) => { setAuditCursor(undefined); setAuditEntity((e.target as HTMLInputElement).value); }} placeholder="e.g. api-keys" /></label>
        <table>
          <thead><tr><th scope="col">At</th><th scope="col">Who</th><th scope="col">Role</th><th scope="col">Action</th><th scope="col">Entity</th></tr></thead>
          <tbody>{audit.map((a) => <tr key={a.id}><td>{a.at.slice(0, 19)}</td><td>{a.actor_email ?? a.actor} <small>{a.actor_subject}</small></td><td>{a.role}</td><td>{a.action}</td><td>{a.entity} {a.entity_id.slice(0, 13)}</td></tr>)}</tbody>
        </table>
        <p>{auditCursor && <button type="button" onClick={() => setAuditCursor(undefined)}>Newest</button>} {auditNext && <button type="button" onClick={() => setAuditCursor(auditNext)}>Older</button>}</p>
      </section>
    </div>
  );
}
