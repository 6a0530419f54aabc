import { useEffect, useState } from 'preact/hooks';
import { api, problemText, type Me } from '../api/client';
import { verifyExportInBrowser, type BrowserVerification } from '../verify';

const day = (d: Date) => d.toISOString().slice(0, 10);

/** Auditors choose a period and controls, export it, and verify the export right here. */
export function Evidence(_: { me: Me }) {
  const now = new Date();
  const [from, setFrom] = useState(day(new Date(now.getTime() - 90 * 86_400_000)));
  const [to, setTo] = useState(day(new Date(now.getTime() + 86_400_000)));
  const [controls, setControls] = useState<Array<{ id: string; title: string }>>([]);
  const [chosen, setChosen] = useState<string[]>([]);
  const [busy, setBusy] = useState('');
  const [download, setDownload] = useState<{ url: string; name: string; bytes: Uint8Array } | null>(null);
  const [result, setResult] = useState<BrowserVerification | null>(null);
  const [error, setError] = useState('');

  useEffect(() => {
    api.GET('/v1/controls').then(({ data }) => setControls(data?.items ?? []));
  }, []);

  const exportPeriod = async () => {
    setBusy('Exporting…');
    setError('');
    setResult(null);
    const { data, error, response } = await api.GET('/v1/evidence/export', {
      params: { query: { from: new Date(from).toISOString(), to: new Date(to).toISOString(), ...(chosen.length ? { controls: chosen.join(',') } : {}) } },
      parseAs: 'arrayBuffer',
    });
    setBusy('');
    if (!data) return setError(problemText(error));
    const bytes = new Uint8Array(data as ArrayBuffer);
    const name = /filename="?([^";]+)/.exec(response.headers.get('content-disposition') ?? '')?.[1] ?? 'custos-evidence.zip';
    setDownload({ url: URL.createObjectURL(new Blob([bytes], { type: 'application/zip' })), name, bytes });
  };

  const verify = async (bytes: Uint8Array) => {
    setBusy('Verifying…');
    setError('');
    try {
      const { data } = await api.GET('/v1/evidence/public-key');
      setResult(await verifyExportInBrowser(bytes, data!.public_key_pem));
    } catch (e) {
      setError(`the file could not be verified: ${e instanceof Error ? e.message : String(e)}`);
    }
    setBusy('');
  };
  const verifyFile = async (event: Event) => {
    const file = (event.target as HTMLInputElement).files?.[0];
    if (file) await verify(new Uint8Array(await file.arrayBuffer()));
  };

  return (
    <div>
      <section class="card" aria-labelledby="export">
        <h2 id="export">Export an audit period</h2>
        <div class="toolbar">
          <label>From <input type="date" value={from} onChange={(e) => setFrom((e.target as HTMLInputElement).value)} /></label>
          <label>To (exclusive) <input type="date" value={to} onChange={(e) => setTo((e.target as HTMLInputElement).value)} /></label>
          <label>Controls (none chosen: all){' '}
            <select multiple size={4} onChange={(e) => setChosen([...(e.target as HTMLSelectElement).selectedOptions].map((o) => o.value))}>
              {controls.map((c) => <option key={c.id} value={c.id} selected={chosen.includes(c.id)}>{c.id} {c.title}</option>)}
            </select>
          </label>
          <button type="button" class="primary" onClick={exportPeriod} disabled={Boolean(busy)}>Export</button>
        </div>
        {busy && <p role="status">{busy}</p>}
        {error && <p class="alert" role="alert">{error}</p>}
        {download && (
          <p>
            <a href={download.url} download={download.name}>Download {download.name}</a> ({download.bytes.length.toLocaleString()} bytes){' '}
            <button type="button" onClick={() => verify(download.bytes)}>Verify this export</button>
          </p>
        )}
      </section>
      <section class="card" aria-labelledby="verify">
        <h2 id="verify">Verify an export</h2>
        <p>Checked in this browser with Web Crypto: the Ed25519 signature of the manifest against the key Custos publishes, and the SHA-256 of every file.</p>
        <label>Export zip <input type="file" accept=".zip,application/zip" onChange={verifyFile} /></label>
        {result && (
          <div class={result.ok ? 'ok' : 'alert'} role="status">
            <p><strong>{result.ok ? 'Verified' : 'Not verified'}</strong>: signature {result.signature}; {result.files.filter((f) => f.ok).length} of {result.files.length} files match their SHA-256.</p>
            {result.problems.length > 0 && <ul>{result.problems.map((p) => <li key={p}>{p}</li>)}</ul>}
          </div>
        )}
      </section>
    </div>
  );
}
