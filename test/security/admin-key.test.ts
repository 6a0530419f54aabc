/**
 * Issue 13: a CUSTOS_ADMIN_KEY with too little entropy is refused at start-up, whatever its length
 * (32 times "a" was accepted: only length was checked). zxcvbn estimates the guesses; the service
 * stops with the one-line configuration error before creating anything.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import t from 'tap';
import { ConfigError, loadConfig, MIN_ADMIN_KEY_GUESSES_LOG10 } from '../../src/config.js';
import { ADMIN_KEY, tempDir } from '../helpers/app.js';

const WEAK = [
  'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa',
  'abababababababababababababababab',
  'abcdefghijklmnopqrstuvwxyz012345',
  'qwertyuiopasdfghjklzxcvbnm123456',
  'passwordpasswordpassword1234',
  'test-admin-key-0123456789abcdef',
];

t.test('weak keys are refused naming the variable; random ones are accepted', async (t) => {
  for (const key of WEAK) {
    t.throws(() => loadConfig({ CUSTOS_ADMIN_KEY: key }), new ConfigError('CUSTOS_ADMIN_KEY', ''), `${key} is refused`);
    try {
      loadConfig({ CUSTOS_ADMIN_KEY: key });
    } catch (error) {
      t.match((error as Error).message, new RegExp(`^invalid configuration: CUSTOS_ADMIN_KEY is too easy to guess .*10\\^${MIN_ADMIN_KEY_GUESSES_LOG10} needed`));
    }
  }
  for (const key of [ADMIN_KEY, randomBytes(18).toString('base64url'), randomBytes(16).toString('hex'), randomBytes(32).toString('base64')]) {
    t.equal(loadConfig({ CUSTOS_ADMIN_KEY: key }).adminKey, key, `${key.slice(0, 6)}… (${key.length} characters) is accepted`);
  }
});

t.test('the service refuses to start with 32 times "a" as the admin key, in one line', async (t) => {
  const dataDir = await tempDir();
  const child = spawn(process.execPath, ['--import', 'tsx', path.resolve('src/server.ts')], {
    env: { PATH: process.env.PATH, HOME: process.env.HOME, CUSTOS_DATA_DIR: dataDir, PORT: '0', CUSTOS_ADMIN_KEY: 'a'.repeat(32) },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr!.on('data', (chunk) => (stderr += chunk));
  const code = await new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
  t.equal(code, 1);
  const lines = stderr.trim().split('\n');
  t.equal(lines.length, 1, stderr);
  t.match(lines[0], /^custos: invalid configuration: CUSTOS_ADMIN_KEY is too easy to guess/);
  t.same(await fs.readdir(dataDir), [], 'nothing was created');
});
