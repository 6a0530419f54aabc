import {
  GetDataLakeSettingsCommand,
  GetLFTagExpressionCommand,
  GetResourceLFTagsCommand,
  LakeFormationClient,
  paginateListLFTags,
  paginateListPermissions,
  type DataLakePrincipal,
  type LFTag,
  type LFTagPair,
  type PrincipalPermissions,
  type PrincipalResourcePermissions,
} from '@aws-sdk/client-lakeformation';
import type { NormalisedPermission } from '../types.js';
import { allPages, clientConfig, throttled, defineCollector, mapLimit, type Run } from './common.js';

type PermissionResource = NormalisedPermission['resource'];

export interface NormalisedLFTag {
  key: string;
  values: string[];
}

const tags = (pairs: Array<LFTag | LFTagPair> | undefined): NormalisedLFTag[] => (pairs ?? []).map((p) => ({ key: p.TagKey ?? '', values: p.TagValues ?? [] }));
const principals = (list: DataLakePrincipal[] | undefined) => (list ?? []).map((p) => p.DataLakePrincipalIdentifier ?? '');
const defaults = (list: PrincipalPermissions[] | undefined) => (list ?? []).map((p) => ({ principal: p.Principal?.DataLakePrincipalIdentifier ?? '', permissions: p.Permissions ?? [] }));

/**
 * The normalised resource of one permission, or undefined for kinds the shape has no place for.
 * Besides the fields of LakeFormationPermission, two kinds keep what identifies them: an LF-tag policy
 * its `expression` ([{key, values}], AND across keys, OR across values) and `resource_type`
 * (DATABASE | TABLE), and for a saved expression its `expression_name` too (the collector fills in
 * `expression` from GetLFTagExpression); a data location its `location`
 * (the S3 ARN).
 */
export function permissionResource(permission: PrincipalResourcePermissions): PermissionResource | undefined {
  const r = permission.Resource ?? {};
  if (r.TableWithColumns) {
    const t = r.TableWithColumns;
    const resource: PermissionResource = { kind: 'table_with_columns', database: t.DatabaseName ?? '', table: t.Name ?? '' };
    if (t.ColumnWildcard) resource.excluded_columns = t.ColumnWildcard.ExcludedColumnNames ?? [];
    else resource.columns = t.ColumnNames ?? [];
    return resource;
  }
  if (r.Table) return { kind: 'table', database: r.Table.DatabaseName ?? '', table: r.Table.TableWildcard || r.Table.Name === undefined ? '*' : r.Table.Name };
  if (r.Database) return { kind: 'database', database: r.Database.Name ?? '' };
  if (r.LFTagPolicy) {
    const policy = r.LFTagPolicy;
    return {
      kind: 'lf_tag_policy',
      resource_type: policy.ResourceType ?? null,
      ...(policy.Expression ? { expression: tags(policy.Expression) } : {}),
      ...(policy.ExpressionName ? { expression_name: policy.ExpressionName } : {}),
    } as PermissionResource;
  }
  if (r.DataLocation) return { kind: 'data_location', location: r.DataLocation.ResourceArn ?? '' } as PermissionResource;
  if (r.Catalog) return { kind: 'catalog' };
  // LFTag (DESCRIBE/ASSOCIATE on a tag key), LFTagExpression and DataCellsFilter: see below.
  return undefined;
}

/**
 * The LF-tags of the databases and tables that permissions name (inherited tags as AWS reports them)
 * and, when an LF-tag policy permission exists, of every catalogued table: those permissions reach
 * whatever their expression matches, which only the tags say.
 */
async function tagAssignments(run: Run, lakeformation: LakeFormationClient, permissions: NormalisedPermission[]) {
  const targets = new Map<string, { database: string; table?: string }>();
  const add = (database: string, table?: string) => {
    targets.set(JSON.stringify([database]), { database });
    if (table && table !== '*') targets.set(JSON.stringify([database, table]), { database, table });
  };
  for (const { resource } of permissions) if (resource.database) add(resource.database, resource.table);
  if (permissions.some((p) => p.resource.kind === 'lf_tag_policy')) for (const t of run.context.catalogTables ?? []) add(t.database, t.table);
  const list = [...targets.values()];
  const answers = await mapLimit(list, 5, (target) => {
    const name = target.table ? `table ${target.database}.${target.table}` : `database ${target.database}`;
    const Resource = target.table ? { Table: { DatabaseName: target.database, Name: target.table } } : { Database: { Name: target.database } };
    return run.attempt(
      `lakeformation:GetResourceLFTags (${name})`,
      async () => {
        const answer = await lakeformation.send(new GetResourceLFTagsCommand({ Resource }));
        return {
          ...target,
          lf_tags_on_database: tags(answer.LFTagOnDatabase),
          ...(target.table ? { lf_tags_on_table: tags(answer.LFTagsOnTable), lf_tags_on_columns: (answer.LFTagsOnColumns ?? []).map((c) => ({ column: c.Name ?? '', lf_tags: tags(c.LFTags) })) } : {}),
        };
      },
      // A permission can outlive its database or table in the Glue catalog: nothing to tag.
      { notFound: { codes: ['EntityNotFoundException'], value: null }, types: [] },
    );
  });
  return answers.filter((a): a is NonNullable<typeof a> => Boolean(a));
}

export const lakeformationCollector = defineCollector({
  name: 'lakeformation',
  description:
    'Lake Formation: data lake settings (lakeformation.settings), every permission granted (ListPermissions), the LF-tags defined (lakeformation.lf_tags) and those assigned to the databases and tables that permissions name (lakeformation.lf_tag_assignments).',
  permissions: ['lakeformation:GetDataLakeSettings', 'lakeformation:ListPermissions', 'lakeformation:GetLFTagExpression', 'lakeformation:ListLFTags', 'lakeformation:GetResourceLFTags'],
  resourceTypes: ['AWS::LakeFormation::Permission'],
  async run(run) {
    const { context } = run;
    const lakeformation = throttled(new LakeFormationClient(clientConfig(context)), context);
    try {
      const settings = await run.attempt('lakeformation:GetDataLakeSettings', async () => (await lakeformation.send(new GetDataLakeSettingsCommand({}))).DataLakeSettings ?? {}, { types: [] });
      if (settings) {
        run.setting('lakeformation.settings', {
          admins: principals(settings.DataLakeAdmins),
          read_only_admins: principals(settings.ReadOnlyAdmins),
          create_database_default_permissions: defaults(settings.CreateDatabaseDefaultPermissions),
          create_table_default_permissions: defaults(settings.CreateTableDefaultPermissions),
        });
      }

      const listed = await run.attempt('lakeformation:ListPermissions', () =>
        allPages(paginateListPermissions({ client: lakeformation, pageSize: 1000 }, {}), (page) => page.PrincipalResourcePermissions),
      );
      let unrepresented = 0;
      for (const permission of listed ?? []) {
        const resource = permissionResource(permission);
        if (!resource) {
          // Permissions on an LF-tag key or a saved LF-tag expression (DESCRIBE, ASSOCIATE...) give no
          // access to data and are left out. Permissions on a data cells filter do, and the shape has
          // no kind for them: they are counted and reported as a gap, so their absence is visible.
          if (permission.Resource?.DataCellsFilter) unrepresented++;
          continue;
        }
        run.output.permissions.push({
          principal: permission.Principal?.DataLakePrincipalIdentifier ?? '',
          resource,
          permissions: permission.Permissions ?? [],
          grantable: permission.PermissionsWithGrantOption ?? [],
          account: context.account,
          region: context.region,
        });
      }
      // A saved LF-tag expression is resolved to its tags (GetLFTagExpression), so the policy can judge
      // what it reaches; one that cannot be read leaves what it reaches unknown: a gap, not a guess.
      const saved = run.output.permissions.filter((p) => p.resource.kind === 'lf_tag_policy' && !(p.resource as { expression?: unknown }).expression);
      const names = [...new Set(saved.map((p) => (p.resource as { expression_name?: string }).expression_name ?? ''))];
      const resolved = new Map<string, NormalisedLFTag[]>();
      await mapLimit(names, 5, async (name) => {
        const expression = name
          ? await run.attempt(`lakeformation:GetLFTagExpression (${name})`, async () => tags((await lakeformation.send(new GetLFTagExpressionCommand({ Name: name }))).Expression), {
              notFound: { codes: ['EntityNotFoundException'], value: null },
            })
          : null;
        if (expression) resolved.set(name, expression);
      });
      let unresolved = 0;
      for (const permission of saved) {
        const expression = resolved.get((permission.resource as { expression_name?: string }).expression_name ?? '');
        if (expression) (permission.resource as { expression?: NormalisedLFTag[] }).expression = expression;
        else unresolved++;
      }
      if (unresolved > 0) {
        const gap = `lakeformation:GetLFTagExpression: ${unresolved} LF-tag policy permission(s) use a saved expression that could not be read: what they reach is unknown`;
        run.output.gaps.push(gap);
        run.incomplete(['AWS::LakeFormation::Permission'], gap);
      }
      if (unrepresented > 0) {
        const gap = `lakeformation:ListPermissions: ${unrepresented} permission(s) on data cells filters are not represented in the normalised input`;
        run.output.gaps.push(gap);
        run.incomplete(['AWS::LakeFormation::Permission'], gap);
      }

      const defined = await run.attempt('lakeformation:ListLFTags', () => allPages(paginateListLFTags({ client: lakeformation, pageSize: 1000 }, {}), (page) => page.LFTags), { types: [] });
      if (defined) run.setting('lakeformation.lf_tags', tags(defined));

      if (listed) run.setting('lakeformation.lf_tag_assignments', await tagAssignments(run, lakeformation, run.output.permissions));
    } finally {
      lakeformation.destroy();
    }
  },
});
