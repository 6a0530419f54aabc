import { DescribeRegionsCommand, EC2Client } from '@aws-sdk/client-ec2';
import { OrganizationsClient, paginateListAccounts } from '@aws-sdk/client-organizations';
import { Type, type Static } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import type { Knex } from 'knex';
import { v7 as uuidv7 } from 'uuid';
import { recordAudit, type AuditContext } from '../audit/repository.js';
import { auditContext } from '../auth/plugin.js';
import { CATALOG_READERS, RISK_OWNERS } from '../auth/roles.js';
import { equalityFilters, tableRepository, type Entity } from '../db/table-repository.js';
import { patchOf, registerCrudRoutes, type ResourceDefinition } from '../http/crud.js';
import { HttpProblem, notFound, problemResponses } from '../http/problem.js';
import { EntityMeta, IdParams, IsoDateTime, StringEnum } from '../http/schemas.js';
import { collectorContext, describeAwsError } from './aws.js';
import { COLLECTORS } from './collectors/index.js';
import { clientConfig } from './collectors/common.js';
import { assertAccount } from './identity.js';

const Region = Type.String({ pattern: '^[a-z]{2}(-[a-z]+)+-[0-9]{1,2}$', examples: ['eu-west-1'] });
const AccountId = Type.String({ pattern: '^[0-9]{12}$', examples: ['210987654321'] });
const SourceName = Type.String({ examples: ['wealth-org-210987654321-eu-west-1'] });
const organizationFields = {
  name: Type.String({ pattern: '^[a-z0-9][a-z0-9-]{0,20}$', description: 'prefix of the sources it keeps: <name>-<account>-<region>', examples: ['wealth-org'] }),
  management_account_id: Type.String({ pattern: '^[0-9]{12}$', description: 'the management or delegated administrator account', examples: ['123456789012'] }),
  management_role_arn: Type.Optional(Type.Union([Type.String({ pattern: '^arn:aws[a-z-]*:iam::[0-9]{12}:role/.+$', maxLength: 2048 }), Type.Null()], { description: 'role to assume in it; null: default credentials' })),
  member_role_name: Type.String({ pattern: '^[A-Za-z0-9+=,.@_/-]{1,64}$', description: 'role assumed in every member account (arn:aws:iam::<account>:role/<name>)', examples: ['CustosCollector'] }),
  regions: Type.Optional(Type.Union([Type.Array(Region, { minItems: 1, maxItems: 40, uniqueItems: true }), Type.Null()], { description: 'null: every region enabled in the management account' })),
  services: Type.Array(StringEnum(Object.keys(COLLECTORS) as [string, ...string[]]), { minItems: 1, uniqueItems: true }),
  enabled: Type.Optional(Type.Boolean()),
};
const OrganizationCreate = Type.Object(organizationFields, { additionalProperties: false });
const AccountSeen = Type.Object({ id: AccountId, name: Type.String({ examples: ['wealth-prod'] }), status: Type.String({ examples: ['ACTIVE'] }) });
const OrganizationEntity = Type.Object({
  ...EntityMeta,
  ...organizationFields,
  management_role_arn: Type.Union([Type.String(), Type.Null()]),
  regions: Type.Union([Type.Array(Region), Type.Null()]),
  enabled: Type.Boolean(),
  accounts: Type.Array(AccountSeen, { description: 'the accounts the last sync saw' }),
  last_synced_at: Type.Union([IsoDateTime, Type.Null()]),
});
type OrganizationEntity = Static<typeof OrganizationEntity> & Entity;
type OrganizationCreate = Static<typeof OrganizationCreate>;

export const organizations: ResourceDefinition<OrganizationEntity, OrganizationCreate, Partial<OrganizationCreate>> = {
  name: 'organizations',
  singular: 'organization',
  tag: 'collection',
  schemas: { entity: OrganizationEntity, create: OrganizationCreate, patch: patchOf(OrganizationCreate), filters: { enabled: Type.Boolean() } },
  roles: { read: CATALOG_READERS, write: RISK_OWNERS },
  repository: tableRepository({ table: 'organizations', jsonColumns: ['regions', 'services', 'accounts'], filters: equalityFilters('enabled') }),
};

export interface SyncResult {
  accounts: Array<{ id: string; name: string; status: string }>;
  joined: string[];
  left: string[];
  regions: string[];
  sources: { created: string[]; enabled: string[]; disabled: string[]; kept: string[] };
  /** (account, region) pairs already covered by a source of their own, left to it. */
  skipped: Array<{ account: string; region: string; source: string }>;
}

const sourceName = (org: string, account: string, region: string) => `${org}-${account}-${region}`;

/**
 * Lists the organization's accounts (Organizations ListAccounts, through the management account,
 * whose identity is checked first) and keeps one source per ACTIVE account and region, assuming
 * member_role_name in each; sources of accounts no longer active are disabled, never deleted (their
 * runs and findings stay). Joins and leaves are audited and returned. Each source's own identity is
 * checked again at every collection.
 */
export async function syncOrganization(db: Knex, id: string, options: { endpoint?: string; maxAttempts?: number; context: AuditContext }): Promise<SyncResult> {
  const org: OrganizationEntity | undefined = await db('organizations').where({ id }).first();
  if (!org) throw notFound('organization', id);
  const management = collectorContext(
    { account: org.management_account_id, region: org.regions?.[0] ?? process.env.AWS_REGION ?? 'us-east-1', roleArn: org.management_role_arn },
    { endpoint: options.endpoint, now: Math.floor(Date.now() / 1000), maxAttempts: options.maxAttempts },
  );
  let accounts: SyncResult['accounts'];
  let regions: string[];
  try {
    await assertAccount(management.aws, org.management_account_id);
    const client = new OrganizationsClient(clientConfig(management));
    try {
      const listed = [];
      for await (const page of paginateListAccounts({ client }, {})) listed.push(...(page.Accounts ?? []));
      accounts = listed.filter((a) => a.Id).map((a) => ({ id: a.Id!, name: a.Name ?? '', status: a.Status ?? 'UNKNOWN' }));
    } finally {
      client.destroy();
    }
    if (org.regions) regions = org.regions;
    else {
      const ec2 = new EC2Client(clientConfig(management));
      try {
        regions = ((await ec2.send(new DescribeRegionsCommand({ AllRegions: false }))).Regions ?? []).map((r) => r.RegionName!).filter(Boolean).sort();
      } finally {
        ec2.destroy();
      }
    }
  } catch (error) {
    const message = error instanceof Error && error.name.startsWith('Identity') ? error.message : describeAwsError('organizations sync', error);
    throw new HttpProblem(error instanceof Error && error.name === 'IdentityMismatch' ? 409 : 503, error instanceof Error && error.name === 'IdentityMismatch' ? 'identity-mismatch' : 'aws-unavailable', `organization ${org.name}: ${message}`);
  }
  const active = new Set(accounts.filter((a) => a.status === 'ACTIVE').map((a) => a.id));
  const before = new Set(org.accounts.filter((a) => a.status === 'ACTIVE').map((a) => a.id));
  const result: SyncResult = {
    accounts,
    joined: [...active].filter((a) => !before.has(a)).sort(),
    left: [...before].filter((a) => !active.has(a)).sort(),
    regions,
    sources: { created: [], enabled: [], disabled: [], kept: [] },
    skipped: [],
  };
  await db.transaction(async (trx) => {
    const own: Array<{ id: string; name: string; account_id: string; region: string; enabled: boolean }> = await trx('sources').where({ organization_id: org.id }).forUpdate();
    for (const account of [...active].sort()) {
      for (const region of regions) {
        const name = sourceName(org.name, account, region);
        const existing = own.find((s) => s.account_id === account && s.region === region);
        const values = { role_arn: `arn:aws:iam::${account}:role/${org.member_role_name}`, services: JSON.stringify(org.services) };
        if (existing) {
          await trx('sources').update({ ...values, enabled: true, updated_at: trx.fn.now(), version: trx.raw('version + 1') }).where({ id: existing.id });
          (existing.enabled ? result.sources.kept : result.sources.enabled).push(existing.name);
          continue;
        }
        const other = await trx('sources').where({ account_id: account, region }).first('name');
        if (other) {
          result.skipped.push({ account, region, source: other.name });
          continue;
        }
        await trx('sources').insert({ id: uuidv7(), name, account_id: account, region, ...values, enabled: true, organization_id: org.id });
        result.sources.created.push(name);
      }
    }
    for (const source of own) {
      if ((!active.has(source.account_id) || !regions.includes(source.region)) && source.enabled) {
        await trx('sources').update({ enabled: false, updated_at: trx.fn.now(), version: trx.raw('version + 1') }).where({ id: source.id });
        result.sources.disabled.push(source.name);
      }
    }
    await trx('organizations').update({ accounts: JSON.stringify(accounts), last_synced_at: trx.fn.now() }).where({ id: org.id });
    await recordAudit(trx, options.context, {
      action: 'sync',
      entity: 'organizations',
      entityId: org.id,
      newValue: { joined: result.joined, left: result.left, regions, sources: result.sources, skipped: result.skipped },
    });
  });
  return result;
}

const SyncResponse = Type.Object({
  accounts: Type.Array(AccountSeen),
  joined: Type.Array(AccountId),
  left: Type.Array(AccountId),
  regions: Type.Array(Region),
  sources: Type.Object({ created: Type.Array(SourceName), enabled: Type.Array(SourceName), disabled: Type.Array(SourceName), kept: Type.Array(SourceName) }),
  skipped: Type.Array(Type.Object({ account: AccountId, region: Region, source: Type.String({ examples: ['wealth-prod-eu-west-1'] }) })),
});

export default async function organizationRoutes(app: FastifyInstance, options: { endpoint?: string; maxAttempts?: number }) {
  registerCrudRoutes(app, organizations);
  app.post('/v1/organizations/:id/sync', {
    config: { roles: RISK_OWNERS },
    schema: {
      tags: ['collection'],
      summary: 'List the organization\'s accounts and keep one source per active account and region',
      description: 'Checks the management account\'s identity (409 identity-mismatch), lists accounts (503 when AWS does not answer), creates or re-enables the sources of active accounts and disables those of accounts that left; audited.',
      params: IdParams,
      response: { 200: SyncResponse, ...problemResponses(401, 403, 404, 409, 503) },
    },
    handler: async (request) => syncOrganization(app.db, (request.params as { id: string }).id, { ...options, context: auditContext(request) }),
  });
}
