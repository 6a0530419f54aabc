import { generateKeyPairSync } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import t from 'tap';
import { ConfigError } from '../../src/config.js';
import { loadSigningKey, signBytes, SIGNING_KEY_FILE, verifyBytes } from '../../src/evidence/signing.js';
import { tempDir } from '../helpers/app.js';

t.test('the signing key: generated once into the data dir (0600), the same on every start', async (t) => {
  const dataDir = await tempDir();
  const first = loadSigningKey({ dataDir });
  const stat = await fs.stat(path.join(dataDir, SIGNING_KEY_FILE));
  t.equal(stat.mode & 0o777, 0o600, 'readable by the service only');
  const again = loadSigningKey({ dataDir });
  t.equal(again.keyId, first.keyId, 'a restart keeps the key');
  t.equal(first.source, 'data-dir');
  t.match(first.keyId, /^[0-9a-f]{64}$/);
  const signature = signBytes(first, Buffer.from('manifest'));
  t.equal(signature.length, 64, 'an Ed25519 signature');
  t.ok(verifyBytes(again.publicKeyPem, Buffer.from('manifest'), signature));
  t.notOk(verifyBytes(again.publicKeyPem, Buffer.from('manifest!'), signature));
});

t.test('CUSTOS_SIGNING_KEY: used when given, shared by instances; a wrong key stops start-up naming it', async (t) => {
  const pem = generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  const a = loadSigningKey({ signingKey: pem, dataDir: await tempDir() });
  const b = loadSigningKey({ signingKey: pem.replace(/\n/g, '\\n'), dataDir: await tempDir() });
  t.equal(a.keyId, b.keyId, 'the same key, also with escaped newlines as env files write them');
  t.equal(a.source, 'environment');
  const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  t.throws(() => loadSigningKey({ signingKey: rsa, dataDir: '/nonexistent' }), new ConfigError('CUSTOS_SIGNING_KEY', 'must be an Ed25519 key, got rsa'));
  t.throws(() => loadSigningKey({ signingKey: 'not a key', dataDir: '/nonexistent' }), { message: 'invalid configuration: CUSTOS_SIGNING_KEY is not a PEM private key' });
});
