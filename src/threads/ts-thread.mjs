// The entry of a worker thread whose task file is TypeScript (Custos run from its sources: tsx,
// tap). It loads the file its pool names in workerData through tsx's API and hands piscina that
// file's default export. See poolEntry in ./thread-entry.ts.
import { workerData } from 'piscina';
import { tsImport } from 'tsx/esm/api';

const task = await tsImport(workerData.tsTaskFile, import.meta.url);
export default task.default;
