import { createHash } from 'node:crypto';
import yauzl from 'yauzl';
import { canonicalJson, itemHash, sha256 } from './chain.js';
import { verifyBytes } from './signing.js';

export interface ExportVerification {
  ok: boolean;
  signature: 'valid' | 'invalid';
  key_id: string;
  files: number;
  items: number;
  problems: string[];
}

/** Every entry of a zip (a file path or its bytes), by path. An export is read whole: it is verified offline, once. */
export function readZip(source: string | Buffer): Promise<Map<string, Buffer>> {
  return new Promise((resolve, reject) => {
    const opened = (error: Error | null, zip: yauzl.ZipFile) => {
      if (error) return reject(error);
      const entries = new Map<string, Buffer>();
      zip.on('entry', (entry: yauzl.Entry) =>
        zip.openReadStream(entry, async (err, stream) => {
          if (err) return reject(err);
          const chunks: Buffer[] = [];
          for await (const chunk of stream) chunks.push(chunk as Buffer);
          entries.set(entry.fileName, Buffer.concat(chunks));
          zip.readEntry();
        }),
      );
      zip.on('end', () => resolve(entries));
      zip.on('error', reject);
      zip.readEntry();
    };
    if (typeof source === 'string') yauzl.open(source, { lazyEntries: true }, opened);
    else yauzl.fromBuffer(source, { lazyEntries: true }, opened);
  });
}

// chain.csv holds ids, times, revisions and hex hashes only: no field needs CSV quoting.
const csvRows = (text: string) =>
  text
    .trim()
    .split('\n')
    .slice(1)
    .map((line) => line.split(','));

/**
 * Checks an export offline: the manifest's Ed25519 signature (with the public key the auditor got
 * from Custos, or the one in the zip), every file against its SHA-256, every item of chain.csv
 * against its fields and its predecessor, and every evidence body against its SHA-256 and chain row.
 */
export async function verifyExport(file: string, publicKeyPem?: string): Promise<ExportVerification> {
  const entries = await readZip(file);
  const problems: string[] = [];
  const manifestBytes = entries.get('manifest.json');
  const signature = entries.get('manifest.sig');
  if (!manifestBytes || !signature) return { ok: false, signature: 'invalid', key_id: '', files: 0, items: 0, problems: ['manifest.json or manifest.sig is missing'] };
  const manifest = JSON.parse(manifestBytes.toString('utf8'));
  const key = publicKeyPem ?? entries.get('public-key.pem')?.toString('utf8') ?? '';
  const signed = key !== '' && verifyBytes(key, manifestBytes, signature);
  if (!signed) problems.push('the manifest signature does not verify with this public key');
  if (!publicKeyPem) problems.push('note: checked with the key inside the zip; pass the key from GET /v1/evidence/public-key to trust the signature');

  for (const listed of manifest.files as Array<{ path: string; sha256: string; bytes: number }>) {
    const content = entries.get(listed.path);
    if (!content) problems.push(`${listed.path}: listed in the manifest but missing`);
    else if (createHash('sha256').update(content).digest('hex') !== listed.sha256) problems.push(`${listed.path}: SHA-256 differs from the manifest`);
  }
  const extra = [...entries.keys()].filter((p) => !['manifest.json', 'manifest.sig', 'SHA256SUMS'].includes(p) && !manifest.files.some((f: { path: string }) => f.path === p));
  for (const p of extra) problems.push(`${p}: in the zip but not in the manifest`);

  const chain = new Map<string, string>();
  let prev: string | undefined;
  for (const [seq, id, control_id, kind, source_id, collected_at, bundle_revision, body_sha256, prev_hash, hash] of csvRows(entries.get('chain.csv')?.toString('utf8') ?? 'header\n')) {
    const fields = { id: id!, control_id: control_id!, kind: kind!, source_id: source_id!, collected_at: collected_at!, bundle_revision: bundle_revision || null, body_sha256: body_sha256! };
    if (itemHash(prev_hash!, fields) !== hash) problems.push(`chain.csv item ${seq}: the hash does not match its fields`);
    if (prev !== undefined && prev_hash !== prev) problems.push(`note: chain.csv item ${seq} follows items outside the period`);
    chain.set(id!, hash!);
    prev = hash;
  }
  let items = 0;
  for (const control of manifest.controls as string[]) {
    const evidence = JSON.parse(entries.get(`controls/${control}/evidence.json`)?.toString('utf8') ?? '[]');
    for (const item of evidence) {
      items++;
      if (sha256(canonicalJson(item.body)) !== item.body_sha256) problems.push(`${control} item ${item.seq}: the body does not match its SHA-256`);
      if (itemHash(item.prev_hash, item) !== item.hash) problems.push(`${control} item ${item.seq}: the hash does not match its fields`);
      const row = chain.get(item.id);
      if (row !== item.hash) problems.push(`${control} item ${item.seq}: not in chain.csv as exported`);
    }
  }
  const real = problems.filter((p) => !p.startsWith('note:'));
  return { ok: real.length === 0, signature: signed ? 'valid' : 'invalid', key_id: manifest.signature?.key_id ?? '', files: manifest.files.length, items, problems };
}
