/**
 * `npm run demo:aws`: Custos with the demo catalog and an AWS estate to look at, on a machine with
 * Python and moto (`npm run tools:moto`) and no AWS account. It starts moto_server, plants the demo
 * estate in it (src/demo/aws-estate.ts: a public bucket, an unencrypted volume, a restricted column
 * granted in Lake Formation, an old Security Hub finding, …), starts Custos against it
 * (AWS_ENDPOINT_URL) with `--demo`, registers the estate as a source and collects it, so every
 * walk-through, remediation included, has real (emulated) AWS behind it. Ctrl-C stops both.
 */
import { spawn, execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { buildApp } from '../src/app.js';
import { ConfigError, loadConfig } from '../src/config.js';
import { freePort } from '../src/db/embedded.js';
import { loadEstate, MOTO_ACCOUNT, REGION } from '../src/demo/aws-estate.js';
import { COLLECTOR_NAMES } from '../src/sources/collectors/index.js';

const fail = (message: string): never => {
  process.stderr.write(`custos demo:aws: ${message}\n`);
  process.exit(1);
};

function which(command: string): string | undefined {
  try {
    return execFileSync('which', [command], { encoding: 'utf8' }).trim() || undefined;
  } catch {
    return undefined;
  }
}

const motoServer = process.env.MOTO_SERVER ?? which('moto_server') ?? fail("moto_server is not installed: npm run tools:moto (pip install 'moto[server]')");
const config = (() => {
  try {
    return loadConfig();
  } catch (error) {
    return fail(error instanceof ConfigError ? error.message : String(error));
  }
})();

// moto, ended with this process: on exit, and in this process's group, so that Ctrl-C in a terminal
// or a test killing the group (test/helpers/processes.ts spawnTied) ends it even if this process is
// killed without running its exit handlers.
const motoPort = Number(process.env.MOTO_PORT ?? (await freePort()));
const endpoint = `http://127.0.0.1:${motoPort}`;
const moto = spawn(motoServer, ['-H', '127.0.0.1', '-p', String(motoPort)], { stdio: 'ignore' });
process.on('exit', () => moto.kill('SIGTERM'));
moto.on('error', (error) => fail(`moto_server did not start: ${error.message}`));
for (let i = 0; ; i++) {
  const up = await fetch(`${endpoint}/moto-api/`).then((r) => r.ok, () => false);
  if (up) break;
  if (moto.exitCode !== null || i > 300) fail(`moto_server did not answer on ${endpoint}`);
  await new Promise((r) => setTimeout(r, 100));
}
const estate = await loadEstate(endpoint);

// Custos against moto: the SDK reads these like any AWS environment.
process.env.AWS_ACCESS_KEY_ID = 'demo';
process.env.AWS_SECRET_ACCESS_KEY = 'demo';
process.env.AWS_REGION = REGION;
const announcements: string[] = [];
const app = await buildApp({ config: { ...config, awsEndpointUrl: endpoint, awsRegion: REGION }, demo: true, announce: (m) => announcements.push(m) });
await app.listen({ port: config.port, host: config.host });
const keyFile = path.join(config.dataDir, 'admin-key');
const adminKey = config.adminKey ?? (existsSync(keyFile) ? readFileSync(keyFile, 'utf8').trim() : fail(`no admin key: ${keyFile} is missing and CUSTOS_ADMIN_KEY is unset`));
const call = async (method: 'GET' | 'POST', url: string, body?: unknown) => {
  const response = await app.inject({ method, url, headers: { authorization: `Bearer ${adminKey}` }, ...(body === undefined ? {} : { payload: body as object }) });
  return { status: response.statusCode, body: response.json() };
};

// The estate as a source (kept across restarts: moto's account and region are always the same).
const sources = await call('GET', '/v1/sources?limit=500');
if (!sources.body.items.some((s: { name: string }) => s.name === 'demo-aws')) {
  const created = await call('POST', '/v1/sources', { name: 'demo-aws', account_id: MOTO_ACCOUNT, region: REGION, services: COLLECTOR_NAMES });
  if (created.status !== 201) fail(`could not register the source: ${JSON.stringify(created.body)}`);
}
const started = await call('POST', '/v1/collections', { sources: ['demo-aws'] });
if (started.status !== 202) fail(`could not start the collection: ${JSON.stringify(started.body)}`);
let run: { status: string; gaps: string[] } = started.body;
for (let i = 0; !['complete', 'partial', 'failed'].includes(run.status); i++) {
  if (i > 1200) fail('the collection did not finish in 2 minutes');
  await new Promise((r) => setTimeout(r, 100));
  run = (await call('GET', `/v1/collections/${started.body.id}`)).body;
}

const base = `http://${config.host === '0.0.0.0' ? '127.0.0.1' : config.host}:${config.port}`;
for (const message of announcements) process.stderr.write(message + '\n');
process.stderr.write(
  [
    `moto (AWS emulator) on ${endpoint}: estate planted (public bucket wealth-public-site, unencrypted volume ${estate.volumes.unencrypted}, restricted-column Lake Formation grant, old Security Hub finding)`,
    `collection of source demo-aws: ${run.status}${run.gaps.length ? ` (${run.gaps.length} gap(s) where moto lacks an operation: GET /v1/collections/${started.body.id})` : ''}`,
    `Custos is listening on ${base}`,
    `  API       ${base}/v1`,
    `  API docs  ${base}/docs`,
    `  console   ${base}/`,
    `Next: the README's walk-throughs, remediation included (its findings are in moto). Ctrl-C stops Custos and moto.`,
  ].join('\n') + '\n',
);

let closing = false;
const shutdown = () => {
  if (closing) return;
  closing = true;
  app.close().then(
    () => process.exit(0),
    () => process.exit(1),
  );
};
process.on('SIGINT', shutdown);
process.on('SIGTERM', shutdown);
