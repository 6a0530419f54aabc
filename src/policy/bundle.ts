import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import tarStream from 'tar-stream';

export interface BundleManifest {
  revision: string;
  roots?: string[];
  wasm?: Array<{ entrypoint: string; module: string }>;
  [key: string]: unknown;
}

/** The parts of an `opa build -t wasm` bundle that Custos evaluates. */
export interface PolicyBundle {
  wasm: Buffer;
  data: Record<string, unknown>;
  manifest: BundleManifest;
  sha256: string;
}

export class InvalidBundleError extends Error {}

const MAX_ENTRY_BYTES = 32 * 1024 * 1024;
/** A gzip of zeros expands a thousandfold: the whole archive, uncompressed, is bounded too. */
export const MAX_TOTAL_BYTES = 64 * 1024 * 1024;
export const MAX_ENTRIES = 10_000;
/** The only entries Custos reads; the others (Rego sources, signatures) are counted and skipped. */
const KEPT = new Set(['policy.wasm', '.manifest', 'data.json']);

/** Reads a bundle.tar.gz; throws InvalidBundleError naming what is wrong. */
export async function readBundle(archive: Buffer): Promise<PolicyBundle> {
  if (!Buffer.isBuffer(archive) || archive.length === 0) throw new InvalidBundleError('the bundle is empty');
  const files = new Map<string, Buffer>();
  const extract = tarStream.extract();
  let total = 0;
  let entries = 0;
  const done = new Promise<void>((resolve, reject) => {
    extract.on('entry', (header, stream, next) => {
      const chunks: Buffer[] = [];
      const keep = KEPT.has(header.name.replace(/^\/+/, ''));
      let size = 0;
      if (++entries > MAX_ENTRIES) {
        reject(new InvalidBundleError(`the bundle has more than ${MAX_ENTRIES} entries`));
        extract.destroy();
        return;
      }
      stream.on('data', (data: unknown) => {
        const chunk = data as Buffer;
        size += chunk.length;
        total += chunk.length;
        if (size > MAX_ENTRY_BYTES) stream.destroy(new InvalidBundleError(`bundle entry ${header.name} is larger than 32 MiB`));
        else if (total > MAX_TOTAL_BYTES) stream.destroy(new InvalidBundleError(`the bundle is larger than ${MAX_TOTAL_BYTES / 1024 / 1024} MiB uncompressed`));
        else if (keep) chunks.push(chunk);
      });
      stream.on('end', () => {
        if (header.type === 'file' && keep) files.set(header.name.replace(/^\/+/, ''), Buffer.concat(chunks));
        next();
      });
      stream.on('error', reject);
    });
    extract.on('finish', resolve);
    extract.on('error', reject);
  });
  const gunzip = createGunzip();
  Readable.from([archive]).pipe(gunzip).on('error', (error) => extract.destroy(error)).pipe(extract);
  try {
    await done;
  } catch (error) {
    if (error instanceof InvalidBundleError) throw error;
    throw new InvalidBundleError(`not a gzipped tar archive (${(error as Error).message})`);
  } finally {
    // Stops decompressing what is left of a refused archive.
    gunzip.destroy();
    extract.destroy();
  }

  const wasm = files.get('policy.wasm');
  if (!wasm) throw new InvalidBundleError('bundle has no /policy.wasm: build it with opa build -t wasm');
  const manifestText = files.get('.manifest');
  if (!manifestText) throw new InvalidBundleError('bundle has no /.manifest');
  let manifest: BundleManifest;
  let data: Record<string, unknown> = {};
  try {
    manifest = JSON.parse(manifestText.toString('utf8'));
    const dataText = files.get('data.json');
    if (dataText) data = JSON.parse(dataText.toString('utf8'));
  } catch {
    throw new InvalidBundleError('bundle .manifest or data.json is not valid JSON');
  }
  if (typeof manifest.revision !== 'string' || manifest.revision === '') {
    throw new InvalidBundleError('bundle .manifest has no revision: build it with opa build --revision <rev>');
  }
  return { wasm, data, manifest, sha256: createHash('sha256').update(archive).digest('hex') };
}
