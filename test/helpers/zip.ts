import fs from 'node:fs/promises';
import path from 'node:path';
import { createWriteStream } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import { ZipFile } from 'yazl';
import type { Role } from '../../src/http/schemas.js';
import { readZip as readZipEntries } from '../../src/evidence/verify-export.js';
import type { TestApp } from './app.js';

/** GETs a binary response as bytes (inject's text body would mangle a zip). */
export async function download(api: TestApp, url: string, as: Role = 'auditor') {
  const response = await api.app.inject({ method: 'GET', url, headers: { authorization: `Bearer ${api.keys[as]}` } });
  return { status: response.statusCode, headers: response.headers, bytes: response.rawPayload };
}

/** Every entry of a zip, by path. */
export const readZip = (bytes: Buffer) => readZipEntries(bytes);

/** Writes the entries to a directory, as `unzip` would. */
export async function extract(entries: Map<string, Buffer>, dir: string): Promise<void> {
  for (const [name, content] of entries) {
    await fs.mkdir(path.dirname(path.join(dir, name)), { recursive: true });
    await fs.writeFile(path.join(dir, name), content);
  }
}

/** Writes entries as a zip file (to build altered copies of an export). */
export async function writeZip(entries: Map<string, Buffer>, file: string): Promise<void> {
  const zip = new ZipFile();
  for (const [name, content] of entries) zip.addBuffer(content, name);
  zip.end();
  await pipeline(zip.outputStream, createWriteStream(file));
}
