import { Type } from '@sinclair/typebox';
import type { PrincipalResourcePermissions, Resource } from '@aws-sdk/client-lakeformation';
import { grantPermissions, lakeFormationClient, listAllPermissions, resourceKey, revokePermissions, type GrantResource } from '../../access/grants/lakeformation.js';
import { permissionResource } from '../../sources/collectors/lakeformation.js';
import { withClient } from '../aws.js';
import { defineAction, NotApplicable, type ActionContext, type Target } from './action.js';

/** The permissions that read a table's rows. */
const READ_PERMISSIONS = ['SELECT', 'ALL'];

interface Exposure {
  principal: string;
  database: string;
  table: string;
  column: string;
}

interface HeldPermission {
  resource: Resource;
  permissions: string[];
}

/** A finding of lakeformation.restricted_column_grant names `<principal>:<database>.<table>.<column>`. */
export function parseExposure(resourceId: string): Exposure {
  const cut = resourceId.lastIndexOf(':');
  const [database, table, ...column] = resourceId.slice(cut + 1).split('.');
  if (cut <= 0 || !database || !table || column.length === 0) throw new NotApplicable(`${resourceId} is not <principal>:<database>.<table>.<column>`);
  return { principal: resourceId.slice(0, cut), database, table, column: column.join('.') };
}

/** Whether a Lake Formation permission entry reaches the column (table, table wildcard, named columns or a column wildcard). */
function reaches(entry: PrincipalResourcePermissions, e: Exposure): boolean {
  const r = permissionResource(entry);
  if (!r || r.database !== e.database) return false;
  if (r.kind === 'table') return r.table === e.table || r.table === '*';
  if (r.kind !== 'table_with_columns' || r.table !== e.table) return false;
  return r.columns ? r.columns.includes(e.column) : !(r.excluded_columns ?? []).includes(e.column);
}

/** Without CatalogId, so the state compares the same however AWS spells the resource. */
function withoutCatalog(resource: Resource): Resource {
  const copy = structuredClone(resource) as Record<string, Record<string, unknown>>;
  for (const value of Object.values(copy)) if (value && typeof value === 'object') delete value.CatalogId;
  return copy as Resource;
}

const clientOf = ({ source, aws }: ActionContext) => lakeFormationClient(source, { endpoint: aws.endpoint, maxAttempts: aws.maxAttempts });

/** Each call grants or revokes the read permissions of one held entry: the resource exactly as Lake Formation lists it. */
async function forEachHeld(context: ActionContext, target: Target, held: HeldPermission[], call: typeof revokePermissions) {
  const { principal } = parseExposure(target.resource_id);
  return withClient(clientOf(context), async (client) => {
    const ids: string[] = [];
    for (const entry of held) {
      const id = await call(client, context.source.account_id, principal, entry.resource as GrantResource, entry.permissions);
      if (id) ids.push(id);
    }
    return { requestIds: ids };
  });
}

/** Revokes a principal's Lake Formation read permissions that reach a restricted column without an approved grant. */
export const lakeformationRevoke = defineAction({
  name: 'lakeformation_revoke',
  description:
    'RevokePermissions of SELECT/ALL on every Lake Formation resource (table, table wildcard, column list or column wildcard) through which the principal reads the restricted column, ' +
    'when no active approved grant covers it. High risk: the principal loses every column the revoked entries gave it. Rollback grants the same entries again.',
  resourceTypes: ['AWS::LakeFormation::Permission'],
  params: Type.Object({}, { additionalProperties: false }),
  permissions: ['lakeformation:ListPermissions', 'lakeformation:RevokePermissions', 'lakeformation:GrantPermissions'],
  risk: 'high',
  read: async (context, target) => {
    const exposure = parseExposure(target.resource_id);
    const entries = await withClient(clientOf(context), (client) => listAllPermissions(client, context.source.account_id));
    const held = new Map<string, HeldPermission>();
    for (const entry of entries) {
      if (entry.Principal?.DataLakePrincipalIdentifier !== exposure.principal || !entry.Resource || !reaches(entry, exposure)) continue;
      const permissions = (entry.Permissions ?? []).filter((p) => READ_PERMISSIONS.includes(p));
      if (permissions.length === 0) continue;
      const key = resourceKey(entry.Resource)!;
      const known = held.get(key);
      const merged = [...new Set([...(known?.permissions ?? []), ...permissions])].sort();
      held.set(key, { resource: withoutCatalog(entry.Resource), permissions: merged });
    }
    return { principal: exposure.principal, column: `${exposure.database}.${exposure.table}.${exposure.column}`, read_permissions: [...held.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([, v]) => v) };
  },
  desired: async (before, { db }, target) => {
    const e = parseExposure(target.resource_id);
    const grant = await db('access_grants')
      .where({ principal: e.principal, database: e.database, table_name: e.table, status: 'active' })
      .where('expires_at', '>', db.fn.now())
      .where((q) => q.whereRaw(`columns = '[]'::jsonb`).orWhereRaw('columns @> ?::jsonb', [JSON.stringify([e.column])]))
      .first('id');
    if (grant) throw new NotApplicable(`${e.principal} has an active approved grant (${grant.id}) for ${e.database}.${e.table}.${e.column}: evaluate again rather than revoke`);
    return { ...before, read_permissions: [] };
  },
  apply: (context, target, change) => forEachHeld(context, target, change.before.read_permissions as HeldPermission[], revokePermissions),
  rollback: (context, target, change) => forEachHeld(context, target, change.before.read_permissions as HeldPermission[], grantPermissions),
});
