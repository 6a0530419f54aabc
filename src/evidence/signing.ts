import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, sign, verify, type KeyObject } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { ConfigError } from '../config.js';

export interface SigningKey {
  privateKey: KeyObject;
  publicKeyPem: string;
  /** SHA-256 of the public key (DER, SubjectPublicKeyInfo): names the key in manifests. */
  keyId: string;
  source: 'environment' | 'data-dir';
}

export const SIGNING_KEY_FILE = 'evidence-signing-key.pem';

function fromPem(pem: string, source: SigningKey['source']): SigningKey {
  const origin = source === 'environment' ? 'CUSTOS_SIGNING_KEY' : SIGNING_KEY_FILE;
  let privateKey: KeyObject;
  try {
    privateKey = createPrivateKey(pem);
  } catch {
    throw new ConfigError(origin, 'is not a PEM private key');
  }
  if (privateKey.asymmetricKeyType !== 'ed25519') throw new ConfigError(origin, `must be an Ed25519 key, got ${privateKey.asymmetricKeyType}`);
  const publicKey = createPublicKey(privateKey);
  const der = publicKey.export({ type: 'spki', format: 'der' });
  return { privateKey, publicKeyPem: publicKey.export({ type: 'spki', format: 'pem' }).toString(), keyId: createHash('sha256').update(der).digest('hex'), source };
}

/**
 * The Ed25519 key that signs export manifests: CUSTOS_SIGNING_KEY (PEM, PKCS#8) when given, which
 * several instances must share; otherwise generated on first start and kept (0600) in the data dir.
 */
export function loadSigningKey(options: { signingKey?: string; dataDir: string }): SigningKey {
  if (options.signingKey) return fromPem(options.signingKey.replace(/\\n/g, '\n'), 'environment');
  const file = path.join(options.dataDir, SIGNING_KEY_FILE);
  if (!existsSync(file)) {
    mkdirSync(options.dataDir, { recursive: true });
    const { privateKey } = generateKeyPairSync('ed25519');
    // 'wx' refuses to overwrite a key another process wrote first; then that key is read below.
    try {
      writeFileSync(file, privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600, flag: 'wx' });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    chmodSync(file, 0o600);
  }
  return fromPem(readFileSync(file, 'utf8'), 'data-dir');
}

/** Ed25519 signs the bytes themselves (no digest parameter), as `openssl pkeyutl -rawin` verifies them. */
export const signBytes = (key: SigningKey, data: Buffer) => sign(null, data, key.privateKey);

export const verifyBytes = (publicKeyPem: string, data: Buffer, signature: Buffer) => verify(null, data, createPublicKey(publicKeyPem), signature);
