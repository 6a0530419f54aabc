import { DescribeRegionsCommand, EC2Client } from '@aws-sdk/client-ec2';
import { OrganizationsClient, paginateListAccounts } from '@aws-sdk/client-organizations';
import { Type, type Static } from '@sinclair/typebox';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { v7 as uuidv7 } from 'uuid';
import { recordAudit } from '../audit/repository.js';
import { guardedChange, PendingChange, stale, type ChangeKind } from '../changes/index.js';
import { breakGlassOf } from '../changes/gate.js';
import { relativesOf } from '../auth/identity.js';
import { changeView, type ChangeRow, type ChangeView } from '../changes/store.js';
import { canonicalJson } from '../evidence/chain.js';
import { collectsLess, SOURCE_APPROVERS } from './guard.js';
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
  sources: { created: string[]; enabled: string[]; disabled: string[]; kept: string[]; awaiting_approval: string[] };
  /** (account, region) pairs already covered by a source of their own, left to it. */
  skipped: Array<{ account: string; region: string; source: string }>;
  /** The sources that would collect less (disabled, or collectors dropped) wait here for a second person. */
  pending_change: ChangeView | null;
}

const sourceName = (org: string, account: string, region: string) => `${org}-${account}-${region}`;

/** One organization source made to collect less: its state when proposed, and the state approval gives it. */
interface Narrowing {
  id: string;
  name: string;
  version: number;
  enabled: boolean;
  services: string[];
}

type OwnSource = { id: string; name: string; account_id: string; region: string; enabled: boolean; services: string[]; role_arn: string | null; version: number };

/**
 * Makes the organization's sources collect less once approved (or at once by break-glass): each is
 * disabled or narrowed to the organization's services, with its own audit row, only if it is still
 * at the version the sync saw (else 409 stale-change: the next sync proposes again).
 */
export function registerNarrowing(app: FastifyInstance): ChangeKind {
  return app.changeKinds.register({
    kind: 'organizations.narrow_sources',
    entity: 'organizations',
    apply: async (trx, target, context) => {
      const { sources } = target.payload as { sources: Narrowing[] };
      const applied: string[] = [];
      for (const next of sources) {
        const current: OwnSource | undefined = await trx('sources').where({ id: next.id }).forUpdate().first();
        if (!current) continue; // deleted since: it collects nothing any more
        if (current.version !== next.version) throw stale('source', next.id, next.version, current.version);
        const [updated] = await trx('sources')
          .update({ enabled: next.enabled, services: JSON.stringify(next.services), updated_at: trx.fn.now(), version: current.version + 1 })
          .where({ id: next.id })
          .returning('*');
        await recordAudit(trx, context, { action: 'update', entity: 'sources', entityId: next.id, oldValue: current, newValue: updated });
        applied.push(next.name);
      }
      return { result: applied };
    },
  });
}

/**
 * Lists the organization's accounts (Organizations ListAccounts, through the management account,
 * whose identity is checked first) and keeps one source per ACTIVE account and region, assuming
 * member_role_name in each. What collects more applies at once: new sources, re-enabled ones,
 * collectors added. What collects less (sources of accounts that left or regions dropped, collectors
 * the organization no longer names) is one pending change for a second person (src/changes/), or
 * applied at once by an admin's break-glass; sources are never deleted (their runs and findings
 * stay). A sync finding the same change already pending proposes nothing new. Joins and leaves are
 * audited and returned. Each source's own identity is checked again at every collection.
 */
export async function syncOrganization(request: FastifyRequest, narrowing: ChangeKind, id: string, options: { endpoint?: string; maxAttempts?: number }): Promise<SyncResult> {
  const db = request.server.db;
  const org: OrganizationEntity | undefined = await db('organizations').where({ id }).first();
  if (!org) throw notFound('organization', id);
  const breakGlass = breakGlassOf(request);
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
  let result!: SyncResult;
  let existing: ChangeView | null = null;
  let narrowed: Narrowing[] = [];
  const outcome = await guardedChange(request, narrowing, async (trx) => {
    // Concurrent syncs of one organization run one after the other.
    const locked: OrganizationEntity = await trx('organizations').where({ id: org.id }).forUpdate().first();
    const before = new Set(locked.accounts.filter((a) => a.status === 'ACTIVE').map((a) => a.id));
    result = {
      accounts,
      joined: [...active].filter((a) => !before.has(a)).sort(),
      left: [...before].filter((a) => !active.has(a)).sort(),
      regions,
      sources: { created: [], enabled: [], disabled: [], kept: [], awaiting_approval: [] },
      skipped: [],
      pending_change: null,
    };
    const services = locked.services;
    const own: OwnSource[] = await trx('sources').where({ organization_id: org.id }).orderBy('name').forUpdate();
    narrowed = [];
    const reasons: string[] = [];
    for (const account of [...active].sort()) {
      for (const region of regions) {
        const name = sourceName(locked.name, account, region);
        const source = own.find((s) => s.account_id === account && s.region === region);
        const role_arn = `arn:aws:iam::${account}:role/${locked.member_role_name}`;
        if (source) {
          // More collectors apply now; the ones the organization dropped stay until approved.
          const kept = source.enabled ? [...services, ...source.services.filter((s) => !services.includes(s))] : services;
          if (!source.enabled || source.role_arn !== role_arn || JSON.stringify(kept) !== JSON.stringify(source.services)) {
            await trx('sources').update({ role_arn, services: JSON.stringify(kept), enabled: true, updated_at: trx.fn.now(), version: source.version + 1 }).where({ id: source.id });
            source.version += 1;
          }
          (source.enabled ? result.sources.kept : result.sources.enabled).push(source.name);
          const why = collectsLess({ ...source, services: kept, enabled: true }, { ...source, services, enabled: true });
          if (why.length) {
            narrowed.push({ id: source.id, name: source.name, version: source.version, enabled: true, services });
            reasons.push(...why.map((w) => `${w}: the organization no longer names it`));
          }
          continue;
        }
        const other = await trx('sources').where({ account_id: account, region }).first('name');
        if (other) {
          result.skipped.push({ account, region, source: other.name });
          continue;
        }
        await trx('sources').insert({ id: uuidv7(), name, account_id: account, region, role_arn, services: JSON.stringify(services), enabled: true, organization_id: org.id });
        result.sources.created.push(name);
      }
    }
    for (const source of own) {
      if (!source.enabled || (active.has(source.account_id) && regions.includes(source.region))) continue;
      narrowed.push({ id: source.id, name: source.name, version: source.version, enabled: false, services: source.services });
      const why = active.has(source.account_id) ? `region ${source.region} is no longer one of the organization's` : `account ${source.account_id} left the organization (or is not active)`;
      reasons.push(...collectsLess(source, { ...source, enabled: false }).map((w) => `${w}: ${why}`));
    }
    result.sources.awaiting_approval = narrowed.map((n) => n.name);
    await trx('organizations').update({ accounts: JSON.stringify(accounts), last_synced_at: trx.fn.now() }).where({ id: org.id });
    await recordAudit(trx, auditContext(request), {
      action: 'sync',
      entity: 'organizations',
      entityId: org.id,
      newValue: { joined: result.joined, left: result.left, regions, sources: result.sources, skipped: result.skipped },
    });
    const payload = { sources: narrowed };
    // The same narrowing already waiting for its second person: not proposed twice.
    if (narrowed.length && !breakGlass) {
      const pending: ChangeRow[] = await trx('pending_changes').where({ kind: narrowing.kind, entity_id: org.id, status: 'pending' }).where('expires_at', '>', trx.fn.now());
      const same = pending.find((p) => canonicalJson(p.payload) === canonicalJson(payload));
      if (same) {
        existing = changeView(same, request.actor, await relativesOf(trx, request.actor.subject));
        return { entityId: org.id, baseVersion: null, payload: { sources: [] }, summary: '', reasons: [], approvers: SOURCE_APPROVERS };
      }
    }
    return { entityId: org.id, baseVersion: null, payload, summary: `organization ${locked.name}: ${narrowed.length} source(s) collect less`, reasons, approvers: SOURCE_APPROVERS };
  });
  if ('pending' in outcome) result.pending_change = outcome.pending;
  else {
    result.pending_change = existing;
    // Applied by break-glass (or nothing to narrow): nothing awaits approval.
    if (!existing) {
      result.sources.disabled = narrowed.filter((n) => !n.enabled).map((n) => n.name);
      result.sources.awaiting_approval = [];
    }
  }
  return result;
}

const SyncResponse = Type.Object({
  accounts: Type.Array(AccountSeen),
  joined: Type.Array(AccountId),
  left: Type.Array(AccountId),
  regions: Type.Array(Region),
  sources: Type.Object({
    created: Type.Array(SourceName),
    enabled: Type.Array(SourceName),
    disabled: Type.Array(SourceName, { description: 'disabled by this request (an admin\'s break-glass)' }),
    kept: Type.Array(SourceName),
    awaiting_approval: Type.Array(SourceName, { description: 'to be disabled or narrowed once a second person approves `pending_change`' }),
  }),
  skipped: Type.Array(Type.Object({ account: AccountId, region: Region, source: Type.String({ examples: ['wealth-prod-eu-west-1'] }) })),
  pending_change: Type.Union([PendingChange, Type.Null()], { description: 'the sources that would collect less, waiting for a second person (null: none)' }),
});

export default async function organizationRoutes(app: FastifyInstance, options: { endpoint?: string; maxAttempts?: number }) {
  registerCrudRoutes(app, organizations);
  const narrowing = registerNarrowing(app);
  app.post('/v1/organizations/:id/sync', {
    config: { roles: RISK_OWNERS },
    schema: {
      tags: ['collection'],
      summary: 'List the organization\'s accounts and keep one source per active account and region',
      description:
        'Checks the management account\'s identity (409 identity-mismatch), lists accounts (503 when AWS does not answer), creates or re-enables the sources of active accounts and adds collectors at once; ' +
        'disabling the sources of accounts that left (or regions dropped) and dropping collectors is one pending change (`pending_change`) for a second person, ' +
        'unless an admin breaks glass (`x-break-glass-reason`); audited.',
      params: IdParams,
      response: { 200: SyncResponse, ...problemResponses(400, 401, 403, 404, 409, 503) },
    },
    handler: async (request) => syncOrganization(request, narrowing, (request.params as { id: string }).id, options),
  });
}
