import type { Resource } from '@aws-sdk/client-lakeformation';
import type { Knex } from 'knex';
import { describeAwsError } from '../../sources/aws.js';
import { permissionResource } from '../../sources/collectors/lakeformation.js';
import { dataLakeAdmins, lakeFormationClient, listAllPermissions, resourceKey, type AwsOptions, type GrantSource } from './lakeformation.js';
import type { GrantRow } from './store.js';

type NormalisedResource = NonNullable<ReturnType<typeof permissionResource>>;

export interface Unapproved {
  principal: string;
  resource: NormalisedResource;
  /** Permissions held in Lake Formation that no active grant accounts for. */
  permissions: string[];
  /** Permissions held with the grant option: grants never give it, so these are never approved. */
  permissions_with_grant_option: string[];
}

export interface Missing {
  grant_id: string;
  principal: string;
  resource: NormalisedResource;
  /** Permissions of the active grant that Lake Formation does not hold. */
  permissions: string[];
}

export interface Reconciliation {
  source: string;
  checked_at: string;
  unapproved: Unapproved[];
  missing: Missing[];
  counts: { permissions: number; active_grants: number; ignored_admin_permissions: number; in_flight_grants: number };
}

/** Lake Formation could not be read (after the SDK's retries). */
export class LakeFormationUnreadable extends Error {}

const keyOf = (principal: string, resource: Resource) => JSON.stringify([principal, resourceKey(resource) ?? null]);

/**
 * Live Lake Formation (ListPermissions, all pages) against the grants applied through `source`.
 * Unapproved: permissions no active grant accounts for, except those of data lake administrators
 * (GetDataLakeSettings), and those of grants being applied or revoked right now (pending_apply,
 * pending_revoke), which are in flight rather than unapproved. Missing: active grants whose
 * permissions Lake Formation does not hold. Throws the AWS error when Lake Formation cannot be read.
 */
export async function reconcile(db: Knex, source: GrantSource, aws: AwsOptions): Promise<Reconciliation> {
  const client = lakeFormationClient(source, aws);
  let admins: Set<string>;
  let listed;
  let operation = 'lakeformation:GetDataLakeSettings';
  try {
    admins = await dataLakeAdmins(client, source.account_id);
    operation = 'lakeformation:ListPermissions';
    listed = await listAllPermissions(client, source.account_id);
  } catch (error) {
    throw new LakeFormationUnreadable(describeAwsError(operation, error));
  } finally {
    client.destroy();
  }
  const checkedAt = new Date().toISOString();

  const grants: GrantRow[] = await db('access_grants')
    .whereIn('status', ['pending_apply', 'active', 'pending_revoke'])
    .whereRaw(`lake_formation->'source'->>'id' = ?`, [source.id])
    .whereRaw(`jsonb_typeof(lake_formation->'resource') = 'object'`)
    .orderBy('id');
  const approved = new Map<string, Set<string>>();
  const inFlight = new Map<string, Set<string>>();
  for (const grant of grants) {
    const target = grant.status === 'active' ? approved : inFlight;
    const key = keyOf(grant.principal, grant.lake_formation!.resource as Resource);
    const set = target.get(key) ?? new Set<string>();
    grant.permissions.forEach((p) => set.add(p));
    target.set(key, set);
  }

  // Lake Formation's answer, one entry per principal and resource.
  const held = new Map<string, { principal: string; resource: NormalisedResource; permissions: Set<string>; grantable: Set<string> }>();
  let ignored = 0;
  for (const entry of listed) {
    const principal = entry.Principal?.DataLakePrincipalIdentifier ?? '';
    const resource = permissionResource(entry);
    if (!resource) continue;
    if (admins.has(principal)) {
      ignored++;
      continue;
    }
    const key = keyOf(principal, entry.Resource!);
    const item = held.get(key) ?? { principal, resource, permissions: new Set<string>(), grantable: new Set<string>() };
    (entry.Permissions ?? []).forEach((p) => item.permissions.add(p));
    (entry.PermissionsWithGrantOption ?? []).forEach((p) => item.grantable.add(p));
    held.set(key, item);
  }

  const unapproved: Unapproved[] = [];
  for (const [key, item] of held) {
    const allowed = new Set([...(approved.get(key) ?? []), ...(inFlight.get(key) ?? [])]);
    const permissions = [...item.permissions].filter((p) => !allowed.has(p)).sort();
    const grantable = [...item.grantable].sort();
    if (permissions.length > 0 || grantable.length > 0) unapproved.push({ principal: item.principal, resource: item.resource, permissions, permissions_with_grant_option: grantable });
  }

  const missing: Missing[] = [];
  for (const grant of grants.filter((g) => g.status === 'active')) {
    const resource = grant.lake_formation!.resource as Resource;
    const present = held.get(keyOf(grant.principal, resource))?.permissions ?? new Set<string>();
    const absent = grant.permissions.filter((p) => !present.has(p));
    if (absent.length > 0) missing.push({ grant_id: grant.id, principal: grant.principal, resource: permissionResource({ Resource: resource })!, permissions: absent });
  }

  return {
    source: source.name,
    checked_at: checkedAt,
    unapproved,
    missing,
    counts: { permissions: listed.length, active_grants: grants.filter((g) => g.status === 'active').length, ignored_admin_permissions: ignored, in_flight_grants: grants.filter((g) => g.status !== 'active').length },
  };
}
