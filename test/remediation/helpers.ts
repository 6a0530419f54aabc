import { CreateBucketCommand, PutBucketAclCommand, S3Client } from '@aws-sdk/client-s3';
import type { Role } from '../../src/http/schemas.js';
import { type TestApp, waitFor } from '../helpers/app.js';
import { MOTO_ACCOUNT, motoClient } from '../helpers/moto.js';

export const REGION = 'us-east-1';

/** An S3 client on moto. */
export const s3On = (endpoint: string) => new S3Client({ ...motoClient(endpoint, REGION), forcePathStyle: true });

/** Buckets readable by anyone through their ACL (what s3.bucket_public_read finds). */
export async function publicBuckets(endpoint: string, names: string[]): Promise<void> {
  const s3 = s3On(endpoint);
  for (const Bucket of names) {
    await s3.send(new CreateBucketCommand({ Bucket }));
    await s3.send(new PutBucketAclCommand({ Bucket, ACL: 'public-read' }));
  }
  s3.destroy();
}

/** Registers a source for moto's account with the given services (s3 only: moto implements all its reads, so runs are complete). */
export async function registerSource(api: TestApp, services = ['s3'], name = 'wealth-s3') {
  const source = await api.call('POST', '/v1/sources', { as: 'compliance_officer', body: { name, account_id: MOTO_ACCOUNT, region: REGION, services } });
  if (source.status !== 201) throw new Error(JSON.stringify(source.body));
  return source.body;
}

/** Collects from every enabled source and waits for the evaluation that follows. */
export async function collectAndEvaluate(api: TestApp) {
  const started = await api.call('POST', '/v1/collections', { as: 'compliance_officer', body: {} });
  if (started.status !== 202) throw new Error(JSON.stringify(started.body));
  const run = await waitFor(async () => {
    const r = (await api.call('GET', `/v1/collections/${started.body.id}`)).body;
    return ['complete', 'partial', 'failed'].includes(r.status) ? r : undefined;
  }, 'collection run', 60_000);
  const evaluation = await waitFor(async () => {
    const list = await api.call('GET', `/v1/evaluations?collection_id=${run.id}`);
    return list.body.items.find((e: { status: string }) => ['complete', 'failed'].includes(e.status));
  }, 'evaluation', 60_000);
  return { run, evaluation };
}

export async function findingOf(api: TestApp, rule: string, resource: string) {
  const list = await api.call('GET', `/v1/findings?rule=${rule}&resource=${encodeURIComponent(resource)}`, { as: 'auditor' });
  return list.body.items[0];
}

/** Waits until the remediation reaches one of `statuses`. */
export const remediationIn = (api: TestApp, id: string, statuses: string[], as: Role = 'auditor') =>
  waitFor(async () => {
    const r = (await api.call('GET', `/v1/remediations/${id}`, { as })).body;
    return statuses.includes(r.status) ? r : undefined;
  }, `remediation ${id} to be ${statuses.join(' or ')}`, 60_000);
