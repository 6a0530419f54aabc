import {
  GetDataLakeSettingsCommand,
  GrantPermissionsCommand,
  LakeFormationClient,
  RevokePermissionsCommand,
  paginateListPermissions,
  type Permission,
  type PrincipalResourcePermissions,
  type Resource,
} from '@aws-sdk/client-lakeformation';
import { collectorContext } from '../../sources/aws.js';
import { allPages, clientConfig, isError } from '../../sources/collectors/common.js';
import { permissionResource } from '../../sources/collectors/lakeformation.js';

/** The stores whose tables live in the Glue Data Catalog, which Lake Formation governs. */
export const LAKE_FORMATION_STORES = ['glue', 's3'] as const;

/** A registered source (table `sources`) through which grants are applied. */
export interface GrantSource {
  id: string;
  name: string;
  account_id: string;
  region: string;
  role_arn: string | null;
}

export interface AwsOptions {
  endpoint?: string;
  maxAttempts: number;
}

/** The exact Lake Formation resource of a grant, as sent to GrantPermissions and RevokePermissions. */
export type GrantResource =
  | { Table: { DatabaseName: string; Name: string } }
  | { TableWithColumns: { DatabaseName: string; Name: string; ColumnNames: string[] } }
  | { LFTagPolicy: { ResourceType: 'TABLE'; Expression: Array<{ TagKey: string; TagValues: string[] }> } };

export interface GrantShape {
  scope: string;
  store: string | null;
  database: string | null;
  table_name: string | null;
  columns: string[];
  lf_tag_expression: Array<{ tag_key: string; tag_values: string[] }> | null;
}

/**
 * What a grant becomes in Lake Formation, or null when it has no Lake Formation resource: a domain
 * grant (Custos decisions only), or a table in a store outside the Glue Data Catalog.
 */
export function grantResource(grant: GrantShape): GrantResource | null {
  if (grant.scope === 'table') {
    if (!grant.store || !(LAKE_FORMATION_STORES as readonly string[]).includes(grant.store)) return null;
    const table = { DatabaseName: grant.database!, Name: grant.table_name! };
    return grant.columns.length > 0 ? { TableWithColumns: { ...table, ColumnNames: [...grant.columns] } } : { Table: table };
  }
  if (grant.scope === 'lf_tag' && grant.lf_tag_expression) {
    return { LFTagPolicy: { ResourceType: 'TABLE', Expression: grant.lf_tag_expression.map((e) => ({ TagKey: e.tag_key, TagValues: [...e.tag_values] })) } };
  }
  return null;
}

const sorted = (values: readonly string[] | undefined) => [...(values ?? [])].sort();

/**
 * One identity for a resource however AWS spells it: CatalogId dropped, column and tag lists
 * sorted, and a column wildcard that excludes nothing counted as the whole table (Lake Formation
 * may report SELECT on a table as TableWithColumns with ColumnWildcard {}). undefined for kinds
 * grants never use and that have no normalised form.
 */
export function resourceKey(resource: Resource | undefined): string | undefined {
  const normalised = permissionResource({ Resource: resource });
  if (!normalised) return undefined;
  const n = normalised as typeof normalised & { resource_type?: string | null; expression?: Array<{ key: string; values: string[] }>; expression_name?: string; location?: string };
  switch (n.kind) {
    case 'table':
      return JSON.stringify(['table', n.database, n.table]);
    case 'table_with_columns':
      if (n.columns) return JSON.stringify(['columns', n.database, n.table, sorted(n.columns)]);
      if ((n.excluded_columns ?? []).length === 0) return JSON.stringify(['table', n.database, n.table]);
      return JSON.stringify(['columns_excluding', n.database, n.table, sorted(n.excluded_columns)]);
    case 'lf_tag_policy':
      if (n.expression_name) return JSON.stringify(['lf_tag_expression_name', n.resource_type ?? null, n.expression_name]);
      return JSON.stringify([
        'lf_tag_policy',
        n.resource_type ?? null,
        [...(n.expression ?? [])].map((e) => [e.key, sorted(e.values)]).sort((a, b) => String(a[0]).localeCompare(String(b[0]))),
      ]);
    case 'database':
      return JSON.stringify(['database', n.database]);
    case 'data_location':
      return JSON.stringify(['data_location', n.location]);
    default:
      return JSON.stringify([n.kind]);
  }
}

/** A client for the source's account and region, built like the collectors' (endpoint, retries, role). */
export function lakeFormationClient(source: GrantSource, options: AwsOptions): LakeFormationClient {
  const context = collectorContext(
    { account: source.account_id, region: source.region, roleArn: source.role_arn },
    { endpoint: options.endpoint, now: Math.floor(Date.now() / 1000), maxAttempts: options.maxAttempts },
  );
  return new LakeFormationClient(clientConfig(context));
}

/** The filter ListPermissions accepts for a resource: AWS lists column permissions under their table. */
function listFilter(resource: GrantResource): Resource {
  if ('TableWithColumns' in resource) return { Table: { DatabaseName: resource.TableWithColumns.DatabaseName, Name: resource.TableWithColumns.Name } };
  return resource as Resource;
}

function permissionsOn(entries: PrincipalResourcePermissions[], principal: string, key: string): Set<string> {
  const found = new Set<string>();
  for (const entry of entries) {
    if (entry.Principal?.DataLakePrincipalIdentifier !== principal) continue;
    if (resourceKey(entry.Resource) !== key) continue;
    for (const p of entry.Permissions ?? []) found.add(p);
  }
  return found;
}

/** Every permission of the catalog (all pages). */
export function listAllPermissions(client: LakeFormationClient, catalogId: string): Promise<PrincipalResourcePermissions[]> {
  return allPages(paginateListPermissions({ client, pageSize: 1000 }, { CatalogId: catalogId }), (page) => page.PrincipalResourcePermissions);
}

/**
 * The permissions `principal` holds on exactly `resource`. Asks the way AWS documents (principal and
 * resource; a table for column permissions), and confirms anything short of `expected` against the
 * full listing: moto's filter leaves out column permissions and refuses LF-tag policy filters, and a
 * wrong "absent" would grant twice or mark a live permission revoked.
 */
export async function heldPermissions(client: LakeFormationClient, catalogId: string, principal: string, resource: GrantResource, expected: readonly string[]): Promise<Set<string>> {
  const key = resourceKey(resource as Resource)!;
  let held = new Set<string>();
  try {
    const filtered = await allPages(
      paginateListPermissions({ client, pageSize: 1000 }, { CatalogId: catalogId, Principal: { DataLakePrincipalIdentifier: principal }, Resource: listFilter(resource) }),
      (page) => page.PrincipalResourcePermissions,
    );
    held = permissionsOn(filtered, principal, key);
  } catch (error) {
    if (!isError(error, 'InvalidInputException')) throw error;
  }
  if (expected.every((p) => held.has(p))) return held;
  for (const p of permissionsOn(await listAllPermissions(client, catalogId), principal, key)) held.add(p);
  return held;
}

export async function grantPermissions(client: LakeFormationClient, catalogId: string, principal: string, resource: GrantResource, permissions: string[]): Promise<string | undefined> {
  const answer = await client.send(
    new GrantPermissionsCommand({ CatalogId: catalogId, Principal: { DataLakePrincipalIdentifier: principal }, Resource: resource as Resource, Permissions: permissions as Permission[] }),
  );
  return answer.$metadata.requestId;
}

export async function revokePermissions(client: LakeFormationClient, catalogId: string, principal: string, resource: GrantResource, permissions: string[]): Promise<string | undefined> {
  const answer = await client.send(
    new RevokePermissionsCommand({ CatalogId: catalogId, Principal: { DataLakePrincipalIdentifier: principal }, Resource: resource as Resource, Permissions: permissions as Permission[] }),
  );
  return answer.$metadata.requestId;
}

/**
 * The data lake administrators of the catalog. Read-only administrators are not included: a
 * permission granted to one is still a grant that needs an approval.
 */
export async function dataLakeAdmins(client: LakeFormationClient, catalogId: string): Promise<Set<string>> {
  const settings = (await client.send(new GetDataLakeSettingsCommand({ CatalogId: catalogId }))).DataLakeSettings ?? {};
  return new Set((settings.DataLakeAdmins ?? []).map((p) => p.DataLakePrincipalIdentifier ?? ''));
}
