import { spawn } from 'node:child_process';
import fs from 'node:fs/promises';
import path from 'node:path';
import t from 'tap';
import { freePort } from '../../src/db/embedded.js';
import { tempDir } from '../helpers/app.js';
import { MOTO_SERVER, motoSkip } from '../helpers/moto.js';

// `npm run demo:aws`: moto with the planted estate, registered as a source and collected, so the
// findings a new user walks through (remediation included) are there on a fresh machine.
t.test('npm run demo:aws: the planted estate is collected and its findings are there', { skip: motoSkip }, async (t) => {
  const dataDir = await tempDir();
  const port = await freePort();
  const child = spawn(process.execPath, ['--import', 'tsx', path.resolve('scripts/demo-aws.ts')], {
    env: { PATH: process.env.PATH, HOME: process.env.HOME, MOTO_SERVER: MOTO_SERVER!, CUSTOS_DATA_DIR: dataDir, PORT: String(port), LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'ignore', 'pipe'],
    detached: true,
  });
  let log = '';
  child.stderr!.on('data', (chunk) => (log += chunk));
  const exited = new Promise((resolve) => child.once('exit', resolve));
  t.teardown(async () => {
    if (child.exitCode === null) process.kill(-child.pid!, 'SIGTERM');
    await exited;
  });
  for (let i = 0; !log.includes('Custos is listening'); i++) {
    if (child.exitCode !== null || i > 3000) throw new Error(`demo:aws did not start: ${log}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  t.match(log, /collection of source demo-aws: (complete|partial)/);
  const key = (await fs.readFile(path.join(dataDir, 'admin-key'), 'utf8')).trim();
  const get = async (url: string) => (await fetch(`http://127.0.0.1:${port}${url}`, { headers: { authorization: `Bearer ${key}` } })).json();
  const runs = await get('/v1/collections?limit=50');
  t.ok(runs.items.some((r: { trigger: string; status: string }) => r.trigger === 'api' && ['complete', 'partial'].includes(r.status)), 'the estate was collected');
  // Collection is followed by an evaluation; its findings name the planted resources.
  let findings: Array<{ rule_id: string; resource_id: string; account: string }> = [];
  for (let i = 0; i < 600; i++) {
    findings = (await get('/v1/findings?account=123456789012&limit=500')).items;
    if (findings.some((f) => f.rule_id === 's3.bucket_public_read')) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  const rules = new Set(findings.map((f) => f.rule_id));
  t.ok(rules.has('s3.bucket_public_read'), 'the public bucket');
  t.ok(rules.has('ec2.volume_encrypted'), 'the unencrypted volume');
  t.ok(rules.has('securityhub.finding_sla'), 'the old Security Hub finding');
  t.ok(rules.has('lakeformation.restricted_column_grant'), 'the restricted-column grant');
  t.comment([...rules].sort().join(', '));
});
