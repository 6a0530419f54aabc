import { CreateBucketCommand, GetObjectCommand, HeadObjectCommand, PutObjectCommand, PutObjectLockConfigurationCommand, DeleteObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { CreateKeyCommand, KMSClient } from '@aws-sdk/client-kms';
import t from 'tap';
import { wealthEstate } from '../../src/demo/wealth-estate.js';
import { objectKey, s3BodyStore } from '../../src/evidence/body-store.js';
import { canonicalJson, sha256 } from '../../src/evidence/chain.js';
import { testApp, waitFor } from '../helpers/app.js';
import { motoSkip, startMoto } from '../helpers/moto.js';
import { download, readZip } from '../helpers/zip.js';

const REGION = 'eu-west-2';

t.test('evidence bodies in S3 (moto): SSE-KMS, content-addressed, verified against the chain', { skip: motoSkip }, async (t) => {
  const moto = await startMoto(t);
  const s3 = new S3Client({ region: REGION, endpoint: moto.endpoint, forcePathStyle: true });
  const kms = new KMSClient({ region: REGION, endpoint: moto.endpoint });
  const key = (await kms.send(new CreateKeyCommand({ Description: 'custos evidence' }))).KeyMetadata!.KeyId!;
  const bucket = 'custos-evidence';
  await s3.send(new CreateBucketCommand({ Bucket: bucket, CreateBucketConfiguration: { LocationConstraint: REGION }, ObjectLockEnabledForBucket: true }));
  await s3.send(new PutObjectLockConfigurationCommand({ Bucket: bucket, ObjectLockConfiguration: { ObjectLockEnabled: 'Enabled', Rule: { DefaultRetention: { Mode: 'GOVERNANCE', Days: 1 } } } }));
  t.equal(await s3BodyStore({ bucket, region: REGION, endpoint: moto.endpoint }).objectLock(), true, 'object lock is detected');

  const api = await testApp(t, { config: { evidenceBucket: bucket, evidenceKmsKeyId: key, awsEndpointUrl: moto.endpoint, awsRegion: REGION } });
  const created = await api.call('POST', '/v1/collections', { as: 'compliance_officer', body: { source: 'file', snapshot: wealthEstate } });
  t.equal(created.status, 201, JSON.stringify(created.body));
  const run = created.body;
  await waitFor(async () => (await api.call('GET', `/v1/evaluations?collection_id=${run.id}`)).body.items.find((e: { status: string }) => e.status === 'complete'), 'evaluation');

  const rows = await api.app.db('evidence_items').orderBy('seq');
  t.ok(rows.length > 10);
  t.ok(rows.every((r) => r.body === null && r.body_store === 's3'), 'no body in PostgreSQL');
  const item = rows.find((r) => r.kind === 'evaluation' && r.control_id === 'CC6.6')!;
  const head = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: objectKey(item.body_sha256) }));
  t.equal(head.ServerSideEncryption, 'aws:kms');
  t.match(head.SSEKMSKeyId, key);
  const stored = await (await s3.send(new GetObjectCommand({ Bucket: bucket, Key: objectKey(item.body_sha256) }))).Body!.transformToString();
  t.equal(sha256(stored), item.body_sha256, 'the object is the canonical body, named by its SHA-256');

  // The API reads bodies back from S3, and the chain verifies them.
  const viaApi = (await api.call('GET', `/v1/evidence/${item.id}`, { as: 'auditor' })).body;
  t.match(viaApi, { body_store: 's3', body: { status: 'failing', control: { id: 'CC6.6' } } });
  t.match((await api.call('POST', '/v1/evidence/verify', { as: 'auditor' })).body, { ok: true, items: rows.length });
  const zip = await readZip((await download(api, `/v1/evidence/export?from=2026-11-01T00:00:00Z&to=${new Date(Date.now() + 60_000).toISOString()}&controls=CC6.6`)).bytes);
  const manifest = JSON.parse(zip.get('manifest.json')!.toString());
  t.match(manifest.chain, { bodies_ok: true, item_hashes_ok: true });
  t.equal(JSON.parse(zip.get('controls/CC6.6/evidence.json')!.toString())[1].body.status, 'failing');

  // A new version put over an object is caught at its item (object lock keeps the original version,
  // but readers get the newest); a deleted object too.
  const forged = canonicalJson({ ...viaApi.body, status: 'passing' });
  await s3.send(new PutObjectCommand({ Bucket: bucket, Key: objectKey(item.body_sha256), Body: forged }));
  t.match((await api.call('POST', '/v1/evidence/verify', { as: 'auditor' })).body, { ok: false, first_break: { id: item.id, problem: /body does not match/ } });
  await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: objectKey(item.body_sha256) })).catch(() => undefined);
  const afterDelete = (await api.call('POST', '/v1/evidence/verify', { as: 'auditor' })).body;
  t.equal(afterDelete.ok, false);
  t.equal(afterDelete.first_break.id, item.id);

  // Fail closed: when the bucket cannot take the bodies, nothing of the run is stored.
  const broken = await testApp(t, { config: { evidenceBucket: 'no-such-evidence-bucket', awsEndpointUrl: moto.endpoint, awsRegion: REGION, awsMaxAttempts: 1 } });
  const refused = await broken.call('POST', '/v1/collections', { as: 'compliance_officer', body: { source: 'file', snapshot: wealthEstate } });
  t.match(refused, { status: 503, body: { type: '/problems/evidence-store-unavailable', detail: /s3:\/\/no-such-evidence-bucket: NoSuchBucket/ } });
  t.equal((await broken.app.db('collection_runs').count('* as n').first())!.n, 0, 'no run without its evidence');
  t.equal((await broken.app.db('evidence_items').count('* as n').first())!.n, 0);
});
