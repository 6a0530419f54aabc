import { fileURLToPath, pathToFileURL } from 'node:url';

const TS_THREAD = fileURLToPath(new URL('./ts-thread.mjs', import.meta.url));

/**
 * Piscina options for a pool whose task file is `file`. From the build (dist/*.js) that is the file
 * itself. From the TypeScript sources, the thread starts from ts-thread.mjs, which loads the file
 * through tsx, and without the parent's loader flags: under tap those load ts-node (and tap's
 * process tracking) into every new thread, which then compiled every module it imports again,
 * seconds per thread. The test suite starts threads for every app it builds.
 */
export function taskFile(file: string): { filename: string; execArgv?: string[]; workerData?: { tsTaskFile: string } } {
  if (!file.endsWith('.ts')) return { filename: file };
  return { filename: TS_THREAD, execArgv: [], workerData: { tsTaskFile: pathToFileURL(file).href } };
}
