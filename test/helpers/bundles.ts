import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { gzipSync, gunzipSync } from 'node:zlib';
import tarStream from 'tar-stream';

export const SHIPPED = path.resolve('policies/bundle.tar.gz');

/** Reads every file of a tar.gz. */
export async function untar(archive: Buffer): Promise<Map<string, Buffer>> {
  const files = new Map<string, Buffer>();
  const extract = tarStream.extract();
  extract.on('entry', (header, stream, next) => {
    const chunks: Buffer[] = [];
    stream.on('data', (c: unknown) => chunks.push(c as Buffer));
    stream.on('end', () => {
      files.set(header.name, Buffer.concat(chunks));
      next();
    });
  });
  const done = new Promise<void>((resolve, reject) => extract.on('finish', () => resolve()).on('error', reject));
  Readable.from([gunzipSync(archive)]).pipe(extract);
  await done;
  return files;
}

export async function tar(files: Map<string, Buffer>): Promise<Buffer> {
  const pack = tarStream.pack();
  for (const [name, content] of files) pack.entry({ name }, content);
  pack.finalize();
  const chunks: Buffer[] = [];
  for await (const chunk of pack) chunks.push(chunk as Buffer);
  return gzipSync(Buffer.concat(chunks));
}

/** The shipped bundle under another revision: a distinct, valid bundle without needing OPA. */
export async function shippedAsRevision(revision: string, change: (files: Map<string, Buffer>) => void = () => {}): Promise<Buffer> {
  const files = await untar(readFileSync(SHIPPED));
  const manifest = JSON.parse(files.get('/.manifest')!.toString());
  files.set('/.manifest', Buffer.from(JSON.stringify({ ...manifest, revision })));
  change(files);
  return tar(files);
}

/**
 * The OPA CLI, for tests that compile their own Rego. Returns undefined where it is not installed
 * (a fresh machine without Go); in CI that is a failure, not a skip.
 */
export function opaBinary(): string | undefined {
  if (process.env.OPA && existsSync(process.env.OPA)) return process.env.OPA;
  const cache = process.env.CUSTOS_TOOLS_DIR ?? path.join(process.env.XDG_CACHE_HOME ?? path.join(os.homedir(), '.cache'), 'custos');
  const installed = existsSync(cache) ? readdirSync(cache).filter((d) => d.startsWith('opa-')).map((d) => path.join(cache, d, 'opa')).find(existsSync) : undefined;
  if (installed) return installed;
  try {
    return execFileSync('which', ['opa'], { encoding: 'utf8' }).trim() || undefined;
  } catch {
    return undefined;
  }
}

export const IN_CI = process.env.CI === 'true';
