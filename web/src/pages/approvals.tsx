import { useEffect, useState } from 'preact/hooks';
import { api, problemText, type Me } from '../api/client';
import type { Item } from '../api/types';

type Change = Item<'/v1/pending-changes'>;
/** Roles that may take part in deciding a pending change (the API checks who exactly may). */
const DECIDERS: ReadonlyArray<Me['role']> = ['admin', 'steward', 'compliance_officer'];

/**
 * Pending protection-lowering changes (four-eyes) with their summary and reasons; a second person
 * approves or rejects with a note, the proposer may withdraw. Whether the caller may decide is the
 * API's answer (compared by identity): its refusal is shown as it comes, never guessed here.
 */
export function PendingChanges({ me, entity, title = 'Pending changes waiting for a second person', refresh = 0, onDecided }: { me: Me; entity?: string; title?: string; refresh?: number; onDecided?: () => void }) {
  const [items, setItems] = useState<Change[]>([]);
  const [notes, setNotes] = useState<Record<string, string>>({});
  const [message, setMessage] = useState<{ kind: 'ok' | 'alert'; text: string } | null>(null);
  const canDecide = DECIDERS.includes(me.role);
  const headingId = `pending-${entity ?? 'all'}`;

  const load = async () => {
    const { data } = await api.GET('/v1/pending-changes', { params: { query: { status: 'pending', limit: 100, ...(entity ? { entity } : {}) } } });
    setItems(data?.items ?? []);
  };
  useEffect(() => { load(); }, [entity, refresh]);

  const decide = async (change: Change, verb: 'approve' | 'reject' | 'withdraw') => {
    const note = (notes[change.id] ?? '').trim();
    if (verb === 'reject' && !note) return setMessage({ kind: 'alert', text: `Say why you reject “${change.summary}”: a note is required.` });
    const options = { params: { path: { id: change.id } }, body: note ? { note } : {} };
    const { error } =
      verb === 'approve' ? await api.POST('/v1/pending-changes/{id}/approve', options)
      : verb === 'reject' ? await api.POST('/v1/pending-changes/{id}/reject', { ...options, body: { note } })
      : await api.POST('/v1/pending-changes/{id}/withdraw', options);
    const done = { approve: 'approved and applied', reject: 'rejected', withdraw: 'withdrawn' }[verb];
    setMessage(error ? { kind: 'alert', text: `Not ${done}: ${problemText(error)}` } : { kind: 'ok', text: `Change ${done}: ${change.summary}` });
    load();
    if (!error) onDecided?.();
  };

  return (
    <section class="card" aria-labelledby={headingId}>
      <h2 id={headingId}>{title}</h2>
      {message && <div class={message.kind} role={message.kind === 'alert' ? 'alert' : 'status'}>{message.text}</div>}
      {items.length === 0 ? <p>None.</p> : (
        <table>
          <thead><tr><th scope="col">Change</th><th scope="col">Why it lowers protection</th><th scope="col">Proposed by</th><th scope="col">Expires</th><th scope="col">Who approves</th><th scope="col">Decision</th></tr></thead>
          <tbody>
            {items.map((c) => {
              const mine = c.proposer_subject === me.subject;
              return (
                <tr key={c.id}>
                  <td>{c.summary} <small>({c.kind})</small></td>
                  <td><ul class="plain">{c.reasons.map((r) => <li key={r}>{r}</li>)}</ul></td>
                  <td>{c.proposed_by} <small>{c.proposed_at.slice(0, 16).replace('T', ' ')}</small></td>
                  <td>{c.expires_at.slice(0, 16).replace('T', ' ')}</td>
                  <td>{[...c.approvers.roles.map((r) => r.replace('_', ' ')), ...c.approvers.subjects].join(', ')}{mine && <><br /><em>You proposed it: a second person approves.</em></>}</td>
                  <td>
                    {canDecide && (
                      <div class="decision">
                        <label>Note <input value={notes[c.id] ?? ''} maxLength={5000} aria-label={`Note on: ${c.summary}`} onInput={(e) => setNotes({ ...notes, [c.id]: (e.target as HTMLInputElement).value })} /></label>{' '}
                        <button type="button" class="primary" aria-label={`Approve: ${c.summary}`} onClick={() => decide(c, 'approve')}>Approve</button>{' '}
                        <button type="button" aria-label={`Reject: ${c.summary}`} onClick={() => decide(c, 'reject')}>Reject</button>
                        {(mine || me.role === 'admin') && <> <button type="button" aria-label={`Withdraw: ${c.summary}`} onClick={() => decide(c, 'withdraw')}>Withdraw</button></>}
                      </div>
                    )}
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      )}
    </section>
  );
}

/** Everything waiting for a second person: pending changes, and links to the other queues. */
export function Approvals({ me }: { me: Me }) {
  return (
    <div>
      <PendingChanges me={me} />
      <p>Exception requests wait on the <a href="/findings">Findings</a> page; access requests on the <a href="/access">Access</a> page.</p>
    </div>
  );
}
