import fs from 'node:fs/promises';
import path from 'node:path';
import { createWriteStream } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import yauzl from 'yauzl';
import { ZipFile } from 'yazl';
import type { Role } from '../../src/http/schemas.js';
import type { TestApp } from './app.js';

/** GETs a binary response as bytes (inject's text body would mangle a zip). */
export async function download(api: TestApp, url: string, as: Role = 'auditor') {
  const response = await api.app.inject({ method: 'GET', url, headers: { authorization: `Bearer ${api.keys[as]}` } });
  return { status: response.statusCode, headers: response.headers, bytes: response.rawPayload };
}

/** Every entry of a zip, by path, in archive order. */
export function readZip(bytes: Buffer): Promise<Map<string, Buffer>> {
  return new Promise((resolve, reject) => {
    yauzl.fromBuffer(bytes, { lazyEntries: true }, (error, zip) => {
      if (error) return reject(error);
      const entries = new Map<string, Buffer>();
      zip.on('entry', (entry: yauzl.Entry) => {
        zip.openReadStream(entry, async (err, stream) => {
          if (err) return reject(err);
          const chunks: Buffer[] = [];
          for await (const chunk of stream) chunks.push(chunk as Buffer);
          entries.set(entry.fileName, Buffer.concat(chunks));
          zip.readEntry();
        });
      });
      zip.on('end', () => resolve(entries));
      zip.on('error', reject);
      zip.readEntry();
    });
  });
}

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
