import { useEffect, useState } from 'preact/hooks';
import { api, type Me } from '../api/client';

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
