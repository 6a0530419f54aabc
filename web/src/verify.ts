import { unzipSync } from 'fflate';

export interface BrowserVerification {
  ok: boolean;
  signature: 'valid' | 'invalid';
  files: Array<{ path: string; ok: boolean }>;
  problems: string[];
}

const hex = (buffer: ArrayBuffer) => [...new Uint8Array(buffer)].map((b) => b.toString(16).padStart(2, '0')).join('');

/** The DER bytes of a PEM public key. */
function pemToDer(pem: string): Uint8Array<ArrayBuffer> {
  const base64 = pem.replace(/-----[^-]+-----/g, '').replace(/\s+/g, '');
  const binary = atob(base64);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

/**
 * Verifies an evidence export in the browser, with Web Crypto only: the manifest's Ed25519
 * signature against the key Custos publishes (GET /v1/evidence/public-key, not the copy inside the
 * zip, which whoever made the zip controls), and the SHA-256 of every file the manifest lists.
 */
export async function verifyExportInBrowser(zip: Uint8Array, publicKeyPem: string): Promise<BrowserVerification> {
  const entries = unzipSync(zip);
  const problems: string[] = [];
  const manifestBytes = entries['manifest.json'];
  const signature = entries['manifest.sig'];
  if (!manifestBytes || !signature) return { ok: false, signature: 'invalid', files: [], problems: ['manifest.json or manifest.sig is missing'] };
  const key = await crypto.subtle.importKey('spki', pemToDer(publicKeyPem), { name: 'Ed25519' }, false, ['verify']);
  const valid = await crypto.subtle.verify({ name: 'Ed25519' }, key, signature as Uint8Array<ArrayBuffer>, manifestBytes as Uint8Array<ArrayBuffer>);
  if (!valid) problems.push('the manifest signature does not verify with the published key');
  const manifest = JSON.parse(new TextDecoder().decode(manifestBytes)) as { files: Array<{ path: string; sha256: string }> };
  const files: BrowserVerification['files'] = [];
  for (const listed of manifest.files) {
    const content = entries[listed.path];
    const ok = content !== undefined && hex(await crypto.subtle.digest('SHA-256', content as Uint8Array<ArrayBuffer>)) === listed.sha256;
    if (!content) problems.push(`${listed.path}: listed in the manifest but missing`);
    else if (!ok) problems.push(`${listed.path}: SHA-256 differs from the manifest`);
    files.push({ path: listed.path, ok });
  }
  for (const path of Object.keys(entries)) {
    if (!['manifest.json', 'manifest.sig', 'SHA256SUMS'].includes(path) && !manifest.files.some((f) => f.path === path)) problems.push(`${path}: in the zip but not in the manifest`);
  }
  return { ok: valid && problems.length === 0, signature: valid ? 'valid' : 'invalid', files, problems };
}
