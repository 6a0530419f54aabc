import { readdirSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { CreateBucketCommand, ListObjectsV2Command, PutObjectLockConfigurationCommand, S3Client } from '@aws-sdk/client-s3';
import type { Knex } from 'knex';
import t from 'tap';
import { auditHash } from '../../src/audit/chain.js';
import { appendEvidence, canonicalJson, GENESIS, itemHash, sha256 } from '../../src/evidence/chain.js';
import { createKnex } from '../../src/db/database.js';
import { tempDir, testApp, type TestApp } from '../helpers/app.js';
import { motoSkip, startMoto } from '../helpers/moto.js';

// The issue: recomputing the hashes after an edit made verify return ok. The chains' heads are now
// checkpointed outside the database, signed; a rebuilt chain no longer passes through them.

async function someHistory(api: TestApp) {
  for (const name of ['Client', 'Account']) {
    const made = await api.call('POST', '/v1/domains', { as: 'steward', body: { name, owner: 'o@bank.example', steward: 's@bank.example', review_frequency: 'annual' } });
    if (made.status !== 201) throw new Error(JSON.stringify(made.body));
  }
  await api.app.db.transaction((trx) =>
    appendEvidence(trx, ['CC6.1', 'CC7.2'].map((control) => ({ control_id: control, kind: 'attestation' as const, source_id: control, collected_at: new Date().toISOString(), bundle_revision: null, body: { status: 'passing', control } }))),
  );
}

/** What the database owner did: set the trigger aside, change who made a change, rebuild the chain so it verifies. */
async function rewriteAuditAsOwner(owner: Knex) {
  await owner.raw('ALTER TABLE audit_log DISABLE TRIGGER audit_log_no_update_or_delete');
  await owner('audit_log').where({ entity: 'domains', action: 'create' }).update({ actor: 'someone-else' });
  let prev = GENESIS;
  for (const row of await owner('audit_log').orderBy('id')) {
    const hash = auditHash(prev, row);
    await owner('audit_log').where({ id: row.id }).update({ prev_hash: prev, hash });
    prev = hash;
  }
  await owner.raw('ALTER TABLE audit_log ENABLE TRIGGER audit_log_no_update_or_delete');
}

async function rewriteEvidenceAsOwner(owner: Knex) {
  await owner.raw('ALTER TABLE evidence_items DISABLE TRIGGER USER');
  let prev = GENESIS;
  for (const row of await owner('evidence_items').orderBy('seq')) {
    const body = { ...row.body, status: 'failing' === row.body.status ? 'passing' : 'failing' };
    const body_sha256 = sha256(canonicalJson(body));
    const hash = itemHash(prev, { ...row, body_sha256 });
    await owner('evidence_items').where({ seq: row.seq }).update({ body: canonicalJson(body), body_sha256, prev_hash: prev, hash });
    prev = hash;
  }
  await owner.raw('ALTER TABLE evidence_items ENABLE TRIGGER USER');
}

// Only the checkpoints a test writes: the schedule (every 15 minutes by default) would add its own.
const NEVER = '0 0 1 1 *';

const verify = async (api: TestApp) => (await api.call('POST', '/v1/integrity/verify', { as: 'auditor' })).body;

t.test('checkpoints in a directory: a chain rebuilt by the database owner is caught', async (t) => {
  const dataDir = await tempDir();
  const api = await testApp(t, { config: { dataDir, checkpointSchedule: NEVER } });
  await someHistory(api);
  t.match(await verify(api), { status: 'not_tested', checkpoint: null, problems: [/no checkpoint in file:/] }, 'no ok without something outside the database to compare with');

  const written = await api.call('POST', '/v1/integrity/checkpoints', { as: 'compliance_officer' });
  t.equal(written.status, 201, JSON.stringify(written.body));
  t.equal(written.body.store, `file:${path.join(dataDir, 'checkpoints')}`);
  const files = readdirSync(path.join(dataDir, 'checkpoints'));
  t.equal(files.length, 1);
  t.equal(statSync(path.join(dataDir, 'checkpoints', files[0]!)).mode & 0o777, 0o400, 'read-only');
  t.equal((await api.call('POST', '/v1/integrity/checkpoints', { as: 'auditor' })).status, 403);
  t.match(await verify(api), { status: 'ok', audit: { ok: true }, evidence: { ok: true }, checkpoint: { audit: { hash: written.body.audit.hash } }, problems: [] });

  // More history after the checkpoint is fine: the chain still passes through it.
  await api.call('POST', '/v1/domains', { as: 'steward', body: { name: 'Investment', owner: 'o@bank.example', steward: 's@bank.example', review_frequency: 'annual' } });
  t.equal((await verify(api)).status, 'ok');

  // The owner (the test's superuser connection) rewrites who created the domains and rebuilds the chain.
  const owner = createKnex(api.databaseUrl);
  t.teardown(() => owner.destroy());
  await rewriteAuditAsOwner(owner);
  t.match((await api.call('POST', '/v1/audit-log/verify', { as: 'auditor' })).body, { ok: true }, 'the rebuilt chain verifies on its own');
  const caught = await verify(api);
  t.equal(caught.status, 'broken');
  t.match(caught.problems, [new RegExp(`audit log: row ${written.body.audit.last_id} has another hash than the checkpoint of .*: the log was rewritten`)]);

  await rewriteEvidenceAsOwner(owner);
  t.match((await api.call('POST', '/v1/evidence/verify', { as: 'auditor' })).body, { ok: true }, 'the rebuilt evidence chain verifies on its own');
  t.match((await verify(api)).problems, [/audit log/, /evidence chain: item \d+ has another hash than the checkpoint/]);

  // A forged newer checkpoint (not signed by the signing key) is refused, not trusted.
  const forged = { checkpoint: { ...written.body, at: new Date(Date.now() + 60_000).toISOString() }, signature: Buffer.alloc(64).toString('base64') };
  delete (forged.checkpoint as any).store;
  writeFileSync(path.join(dataDir, 'checkpoints', '9999-forged.json'), JSON.stringify(forged));
  t.match(await verify(api), { status: 'broken', problems: [/not signed by the signing key/] });
});

t.test('checkpoints in the evidence bucket (moto, object lock)', { skip: motoSkip }, async (t) => {
  const moto = await startMoto(t);
  const s3 = new S3Client({ region: 'us-east-1', endpoint: moto.endpoint, forcePathStyle: true });
  t.teardown(() => s3.destroy());
  const bucket = 'custos-evidence';
  await s3.send(new CreateBucketCommand({ Bucket: bucket, ObjectLockEnabledForBucket: true }));
  await s3.send(new PutObjectLockConfigurationCommand({ Bucket: bucket, ObjectLockConfiguration: { ObjectLockEnabled: 'Enabled', Rule: { DefaultRetention: { Mode: 'GOVERNANCE', Days: 1 } } } }));
  const api = await testApp(t, { config: { evidenceBucket: bucket, awsEndpointUrl: moto.endpoint, awsRegion: 'us-east-1', checkpointSchedule: NEVER } });
  await someHistory(api);
  t.equal((await verify(api)).status, 'not_tested');
  const written = await api.call('POST', '/v1/integrity/checkpoints', { as: 'admin' });
  t.equal(written.status, 201, JSON.stringify(written.body));
  t.equal(written.body.store, `s3://${bucket}/checkpoints/`);
  const listed = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: 'checkpoints/' }));
  t.equal(listed.Contents?.length, 1);
  t.equal((await verify(api)).status, 'ok');
  const owner = createKnex(api.databaseUrl);
  t.teardown(() => owner.destroy());
  await rewriteAuditAsOwner(owner);
  t.match(await verify(api), { status: 'broken', problems: [/the log was rewritten/] });
});
