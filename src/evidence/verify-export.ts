import { createHash, createPublicKey } from 'node:crypto';
import yauzl from 'yauzl';
import { canonicalJson, itemHash, sha256 } from './chain.js';
import { verifyBytes } from './signing.js';

export interface ExportVerification {
  ok: boolean;
  /** valid only with a trusted key (given, or the zip's with the expected fingerprint). */
  signature: 'valid' | 'invalid';
  key_id: string;
  files: number;
  items: number;
  problems: string[];
  /**
   * Not integrity failures (ok may still be true): the items of the period that Custos received
   * after the period ended, recomputed from the hashed received_at of chain.jsonl.
   */
  warnings: string[];
  received_after_period: number;
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

/**
 * The chain rows of an export: chain.jsonl, whose objects hold the hashed fields as they are. Exports
 * made before it existed have only chain.csv, read as they wrote it (unquoted; columns by the header's
 * names, so those made before received_at was added verify too). chain.csv is never read when
 * chain.jsonl is there: it is for spreadsheets, with formula-looking fields prefixed by '.
 */
function chainRecords(entries: Map<string, Buffer>): { file: string; rows: Array<Record<string, string | null>> } {
  const jsonl = entries.get('chain.jsonl');
  if (jsonl) {
    const rows = jsonl.toString('utf8').split('\n').filter((line) => line !== '').map((line) => {
      try {
        return JSON.parse(line) as Record<string, string | null>;
      } catch {
        return { seq: 'not JSON' } as Record<string, string | null>;
      }
    });
    return { file: 'chain.jsonl', rows };
  }
  return { file: 'chain.csv', rows: csvRecords(entries.get('chain.csv')?.toString('utf8') ?? 'header\n') };
}

function csvRecords(text: string): Array<Record<string, string>> {
  const [header, ...lines] = text.trim().split('\n');
  const names = (header ?? '').split(',');
  return lines.filter((line) => line !== '').map((line) => {
    const cells = line.split(',');
    return Object.fromEntries(names.map((name, i) => [name, cells[i] ?? '']));
  });
}

/** The key id Custos publishes (GET /v1/evidence/public-key): SHA-256 of the DER public key. */
export function keyFingerprint(publicKeyPem: string): string {
  return createHash('sha256').update(createPublicKey(publicKeyPem).export({ type: 'spki', format: 'der' })).digest('hex');
}

/** What the verifier trusts: the public key the auditor got from Custos, or the key id (fingerprint) it published. */
export interface TrustAnchor {
  publicKeyPem?: string;
  expectFingerprint?: string;
}

/**
 * Checks an export offline: the manifest's Ed25519 signature with a trusted key (the public key the
 * auditor got from Custos, or the zip's key only if its fingerprint is the one the auditor expects;
 * without either, never ok), every file against its SHA-256 and no file beside them, every item of
 * chain.jsonl against its fields with no missing seq and no broken link, and every evidence body against
 * its SHA-256 and its chain row. Directory entries (a zip re-packed by a tool) are not files.
 */
export async function verifyExport(file: string | Buffer, trust: TrustAnchor | string = {}): Promise<ExportVerification> {
  const anchor: TrustAnchor = typeof trust === 'string' ? { publicKeyPem: trust } : trust;
  const entries = new Map([...(await readZip(file))].filter(([name]) => !name.endsWith('/')));
  const problems: string[] = [];
  const manifestBytes = entries.get('manifest.json');
  const signature = entries.get('manifest.sig');
  if (!manifestBytes || !signature) return { ok: false, signature: 'invalid', key_id: '', files: 0, items: 0, problems: ['manifest.json or manifest.sig is missing'], warnings: [], received_after_period: 0 };
  const manifest = JSON.parse(manifestBytes.toString('utf8'));

  // The signature is worth what the key is: one from inside the zip proves nothing unless its
  // fingerprint is the one Custos published.
  let key: string | undefined;
  if (anchor.publicKeyPem) {
    key = anchor.publicKeyPem;
    if (anchor.expectFingerprint && keyFingerprint(key) !== anchor.expectFingerprint.toLowerCase()) problems.push(`the public key given has fingerprint ${keyFingerprint(key)}, not the expected ${anchor.expectFingerprint}`);
  } else if (anchor.expectFingerprint) {
    const inZip = entries.get('public-key.pem')?.toString('utf8');
    let fingerprint: string | undefined;
    try {
      fingerprint = inZip ? keyFingerprint(inZip) : undefined;
    } catch {
      fingerprint = undefined;
    }
    if (fingerprint === anchor.expectFingerprint.toLowerCase()) key = inZip;
    else problems.push(`no trusted key: the zip's public-key.pem has fingerprint ${fingerprint ?? '(none)'}, not the expected ${anchor.expectFingerprint}`);
  } else {
    problems.push('no trusted key: pass --public-key with the key from GET /v1/evidence/public-key, or --expect-fingerprint with its key_id; the key inside the zip proves nothing by itself');
  }
  let signed = false;
  try {
    signed = key !== undefined && verifyBytes(key, manifestBytes, signature);
  } catch {
    signed = false;
  }
  if (key !== undefined && !signed) problems.push('the manifest signature does not verify with the trusted public key');

  for (const listed of manifest.files as Array<{ path: string; sha256: string; bytes: number }>) {
    const content = entries.get(listed.path);
    if (!content) problems.push(`${listed.path}: listed in the manifest but missing`);
    else if (createHash('sha256').update(content).digest('hex') !== listed.sha256) problems.push(`${listed.path}: SHA-256 differs from the manifest`);
  }
  const extra = [...entries.keys()].filter((p) => !['manifest.json', 'manifest.sig', 'SHA256SUMS'].includes(p) && !manifest.files.some((f: { path: string }) => f.path === p));
  for (const p of extra) problems.push(`${p}: in the zip but not in the manifest`);

  // The export's own integrity verdict, signed in the manifest.
  if (manifest.chain?.ok !== true) problems.push(`the manifest reports a broken evidence chain: ${(manifest.chain?.problems ?? manifest.chain?.notes ?? []).join('; ') || 'chain.ok is not true'}`);

  const chain = new Map<string, string>();
  let prev: { seq: number; hash: string } | undefined;
  const warnings: string[] = [];
  const periodFrom = manifest.period?.from ? new Date(manifest.period.from).toISOString() : undefined;
  const periodTo = manifest.period?.to ? new Date(manifest.period.to).toISOString() : undefined;
  const late: string[] = [];
  const { file: chainFile, rows: chainRows } = chainRecords(entries);
  for (const row of chainRows) {
    const { id, control_id, kind, source_id, collected_at, bundle_revision, body_sha256, prev_hash, hash, received_at } = row as Record<string, string>;
    const seq = Number(row.seq);
    const fields = { id: id!, control_id: control_id!, kind: kind!, source_id: source_id!, collected_at: collected_at!, bundle_revision: bundle_revision || null, body_sha256: body_sha256!, received_at: received_at || null };
    // received_at is covered by the hash checked below, so this is the chain's word, not the manifest's.
    if (received_at && periodFrom && periodTo && collected_at! >= periodFrom && collected_at! < periodTo && new Date(received_at).toISOString() >= periodTo) {
      late.push(`item ${seq} (${control_id}, ${kind}) observed ${collected_at}, received ${received_at}`);
    }
    if (itemHash(prev_hash!, fields) !== hash) problems.push(`${chainFile} item ${seq}: the hash does not match its fields`);
    if (prev === undefined && manifest.chain?.first_seq !== seq) problems.push(`${chainFile} starts at item ${seq}, the manifest at ${manifest.chain?.first_seq}`);
    if (prev !== undefined && seq !== prev.seq + 1) problems.push(`${chainFile}: seq ${prev.seq + 1} is missing before item ${seq}: an item was deleted`);
    else if (prev !== undefined && prev_hash !== prev.hash) problems.push(`${chainFile} item ${seq}: its previous-hash link does not match item ${prev.seq}`);
    chain.set(id!, hash!);
    prev = { seq, hash: hash! };
  }
  if (late.length) {
    warnings.push(`${late.length} evidence item(s) of the period were received after the period ended (back-dated or late, not contemporaneous): ${late.slice(0, 20).join('; ')}${late.length > 20 ? `; and ${late.length - 20} more` : ''}`);
  }
  // The signed manifest must not hide what the chain shows.
  const reported = manifest.received_after_period?.count ?? 0;
  if (reported !== late.length) problems.push(`the manifest reports ${reported} item(s) received after the period ended; ${chainFile} shows ${late.length}`);
  if ((prev?.seq ?? null) !== (manifest.chain?.last_seq ?? null)) problems.push(`${chainFile} ends at item ${prev?.seq ?? '(none)'}, the manifest at ${manifest.chain?.last_seq ?? '(none)'}`);
  if (prev && manifest.chain?.head?.seq === prev.seq && manifest.chain.head.hash !== prev.hash) problems.push(`${chainFile} does not end at the chain head the manifest names`);

  let items = 0;
  for (const control of manifest.controls as string[]) {
    const evidence = JSON.parse(entries.get(`controls/${control}/evidence.json`)?.toString('utf8') ?? '[]');
    for (const item of evidence) {
      items++;
      if (sha256(canonicalJson(item.body)) !== item.body_sha256) problems.push(`${control} item ${item.seq}: the body does not match its SHA-256`);
      if (itemHash(item.prev_hash, item) !== item.hash) problems.push(`${control} item ${item.seq}: the hash does not match its fields`);
      const row = chain.get(item.id);
      if (row !== item.hash) problems.push(`${control} item ${item.seq}: outside the chain (not in ${chainFile} as exported)`);
    }
  }
  return { ok: problems.length === 0, signature: signed ? 'valid' : 'invalid', key_id: manifest.signature?.key_id ?? '', files: manifest.files.length, items, problems, warnings, received_after_period: late.length };
}
