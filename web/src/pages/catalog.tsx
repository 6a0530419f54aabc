import { useEffect, useState } from 'preact/hooks';
import { api, problemText, type Me } from '../api/client';
import type { Json } from '../api/types';
import { PendingChanges } from './approvals';

type Asset = Json<'/v1/assets/{id}'>;

/** Domains, assets and columns; stewards classify a column inline (If-Match), and a stale edit says who changed it. */
export function Catalog({ me }: { me: Me }) {
  const [assets, setAssets] = useState<Asset[]>([]);
  const [cursor, setCursor] = useState<string | null>(null);
  const [next, setNext] = useState<string | null>(null);
  const [selected, setSelected] = useState<{ asset: Asset; etag: string } | null>(null);
  const [classifications, setClassifications] = useState<string[]>([]);
  const [message, setMessage] = useState<{ kind: 'ok' | 'alert'; text: string; reload?: boolean } | null>(null);
  const [proposed, setProposed] = useState(0);
  const canEdit = me.role === 'admin' || me.role === 'steward';

  useEffect(() => {
    api.GET('/v1/assets', { params: { query: { limit: 20, ...(cursor ? { cursor } : {}) } } }).then(({ data }) => {
      setAssets(data?.items ?? []);
      setNext(data?.next_cursor ?? null);
    });
  }, [cursor]);
  useEffect(() => {
    api.GET('/v1/classifications', { params: { query: { limit: 100 } } }).then(({ data }) => setClassifications((data?.items ?? []).map((c) => c.name)));
  }, []);

  const open = async (id: string) => {
    const { data, response } = await api.GET('/v1/assets/{id}', { params: { path: { id } } });
    if (data) setSelected({ asset: data, etag: response.headers.get('etag') ?? '' });
    setMessage(null);
  };

  const classify = async (column: string, classification: string) => {
    if (!selected) return;
    const { data, error, response } = await api.PATCH('/v1/assets/{id}/columns/{column}', {
      params: { path: { id: selected.asset.id, column }, header: { 'if-match': selected.etag } as never },
      body: { classification },
      headers: { 'if-match': selected.etag },
    });
    if (data && response.status === 202) {
      // Lowering protection is a pending change: it applies only once a second person approves.
      setMessage({ kind: 'ok', text: `${column} → ${classification} lowers protection: it waits for a second person's approval (pending change ${(data as { id: string }).id})` });
      setProposed(proposed + 1);
    } else if (data) {
      setSelected({ asset: data as typeof selected.asset, etag: response.headers.get('etag') ?? '' });
      setMessage({ kind: 'ok', text: `${column} is now ${classification}` });
    } else if (response.status === 412) {
      setMessage({ kind: 'alert', text: `Someone else changed this asset: ${problemText(error)}`, reload: true });
    } else {
      setMessage({ kind: 'alert', text: problemText(error) });
    }
  };

  return (
    <div>
      <table>
        <caption class="sr-only">Assets</caption>
        <thead><tr><th scope="col">Asset</th><th scope="col">Domain</th><th scope="col">Classification</th><th scope="col">Columns</th></tr></thead>
        <tbody>
          {assets.map((a) => (
            <tr key={a.id}>
              <td><button type="button" onClick={() => open(a.id)}>{a.store}:{a.database}.{a.table}</button></td>
              <td>{a.domain}</td><td>{a.classification}</td><td>{a.columns.length}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <p>
        {cursor && <button type="button" onClick={() => setCursor(null)}>First page</button>}{' '}
        {next && <button type="button" onClick={() => setCursor(next)}>Next page</button>}
      </p>
      {selected && (
        <section class="card" aria-labelledby="asset-title">
          <h2 id="asset-title">{selected.asset.database}.{selected.asset.table} <small>(version {selected.asset.version})</small></h2>
          {message && (
            <div class={message.kind} role={message.kind === 'alert' ? 'alert' : 'status'}>
              {message.text}{' '}
              {message.reload && <button type="button" onClick={() => open(selected.asset.id)}>Reload the asset</button>}
            </div>
          )}
          <table>
            <thead><tr><th scope="col">Column</th><th scope="col">Type</th><th scope="col">Classification</th><th scope="col">PII type</th><th scope="col">Masking rule</th></tr></thead>
            <tbody>
              {selected.asset.columns.map((c) => (
                <tr key={c.name}>
                  <td>{c.name}</td><td>{c.data_type}</td>
                  <td>
                    {canEdit ? (
                      <select aria-label={`Classification of ${c.name}`} value={c.classification} onChange={(e) => classify(c.name, (e.target as HTMLSelectElement).value)}>
                        {[...new Set([c.classification, ...classifications])].map((name) => <option key={name} value={name}>{name}</option>)}
                      </select>
                    ) : c.classification}
                  </td>
                  <td>{c.pii_type ?? '—'}</td><td>{c.masking_rule ?? '—'}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </section>
      )}
      <PendingChanges me={me} refresh={proposed} />
    </div>
  );
}
