import { fileURLToPath, pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';

/**
 * How Custos's threads start, from the build or from the TypeScript sources (tsx, tap). From the
 * build (dist/*.js) a thread starts from its file. From the sources, a thread's file is loaded
 * through tsx's API, since Node 20 does not apply the `--import tsx` hooks to a worker's entry, and
 * without the parent's flags: under tap those load ts-node (and tap's process tracking) into every
 * new thread, which then compiled every module it imports again, seconds per thread. The test suite
 * starts threads for every app it builds.
 */
const fromSources = (file: string) => file.endsWith('.ts');

const TS_POOL_ENTRY = fileURLToPath(new URL('./ts-thread.mjs', import.meta.url));

/** Piscina's options for a pool whose task file (its default export handles each task) is `file`. */
export function poolEntry(file: string): { filename: string; execArgv?: string[]; workerData?: { tsTaskFile: string } } {
  if (!fromSources(file)) return { filename: file };
  return { filename: TS_POOL_ENTRY, execArgv: [], workerData: { tsTaskFile: pathToFileURL(file).href } };
}

/** A plain worker thread running `file`. */
export function startThread(file: string): Worker {
  if (!fromSources(file)) return new Worker(file);
  const load = `import(${JSON.stringify(import.meta.resolve('tsx/esm/api'))}).then(({ tsImport }) => tsImport(${JSON.stringify(pathToFileURL(file).href)}, ${JSON.stringify(import.meta.url)}))`;
  return new Worker(load, { eval: true, execArgv: [] });
}
