import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance } from 'fastify';
import { Piscina } from 'piscina';
import { poolEntry } from '../threads/thread-entry.js';
import { jsonTextParser } from '../http/json-body.js';
import { HttpProblem } from '../http/problem.js';
import { PreparedSnapshot } from './snapshot.js';
import type { ImportAnswer, ImportTask } from './snapshot-worker.js';

/**
 * Large snapshot imports off the event loop (issue 13). A `POST /v1/collections` body over
 * LARGE_BODY bytes (256 KiB; a snapshot may be 64 MiB) is handed, as bytes, to a worker thread that parses
 * it, checks the snapshot and prepares its rows (snapshot-worker.ts); the event loop gets back only
 * strings and counts, or the 400. Parsing 500,000 findings with JSON.parse on the event loop, then
 * collecting their garbage, held /healthz for over 100 ms. Smaller bodies are parsed where every
 * other body is (src/http/json-body.ts); their snapshot is checked in slices that yield.
 */

/** Bodies up to this size are parsed on the event loop, as for every other route (a few ms at most). */
export const LARGE_BODY = 256 * 1024;
// One import checked at a time; a few wait. The thread's heap is bounded so that a body that
// expands beyond it fails that request (413), not the service.
const LIMITS = { maxOldGenerationSizeMb: 2048, maxYoungGenerationSizeMb: 64 };
const MAX_QUEUE = 4;

const WORKER = path.join(path.dirname(fileURLToPath(import.meta.url)), `snapshot-worker${path.extname(fileURLToPath(import.meta.url))}`);

/**
 * Replaces the JSON parser of the routes registered in `app` (the sources plugin's encapsulated
 * context): large bodies of `POST /v1/collections` go to the import thread, others are parsed as
 * everywhere else.
 */
export function registerSnapshotImportParser(app: FastifyInstance): void {
  // Started on first use and ended after a minute idle: most instances never import a large file.
  const pool = new Piscina<ImportTask, ImportAnswer>({ ...poolEntry(WORKER), minThreads: 0, maxThreads: 1, idleTimeout: 60_000, maxQueue: MAX_QUEUE, resourceLimits: LIMITS });
  app.addHook('onClose', async () => pool.destroy());
  const inline = jsonTextParser(app);
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'buffer' }, (request, body, done) => {
    const bytes = body as Buffer;
    if (bytes.length <= LARGE_BODY || request.routeOptions.url !== '/v1/collections') {
      return inline(request, bytes.toString('utf8'), done);
    }
    if (pool.queueSize >= MAX_QUEUE) {
      return done(new HttpProblem(503, 'service-unavailable', 'other large snapshot imports are being checked: try again shortly'), undefined);
    }
    // The bytes are moved to the thread, not copied.
    const owned = bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength ? new Uint8Array(bytes.buffer) : new Uint8Array(bytes);
    pool.run({ body: owned }, { transferList: [owned.buffer as ArrayBuffer] }).then(
      (answer) => {
        if ('problem' in answer) {
          const p = answer.problem;
          return done(new HttpProblem(p.status, p.slug, p.detail, p.errors, p.errorCount), undefined);
        }
        done(null, answer.prepared ? { ...answer.body, snapshot: new PreparedSnapshot(answer.prepared) } : answer.body);
      },
      (error: Error & { code?: string }) => {
        if (error.code === 'ERR_WORKER_OUT_OF_MEMORY') return done(new HttpProblem(413, 'body-too-large', 'the snapshot is too large to check: split it'), undefined);
        done(error, undefined);
      },
    );
  });
}
