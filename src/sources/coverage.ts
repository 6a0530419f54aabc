import type { Knex } from 'knex';
import { runItemCounts, type RunState } from './run-store.js';

/**
 * Coverage: what a collection run observed, per account, region, service and resource type, and
 * whether that listing was complete. It is what makes absence mean something: a finding is resolved
 * only where a complete listing of its type did not report it, and a rule is tested only where it
 * had complete data (docs/ARCHITECTURE.md, "Coverage and resolution").
 */

/** What one collector says about one resource type it declares, in the account and region it ran in. */
export interface CoverageEntry {
  resource_type: string;
  complete: boolean;
  /** Why the listing is incomplete (a failed operation, an incremental run...); required when incomplete. */
  reason?: string;
}

/** One row of `run_coverage`. */
export interface CoverageRow {
  account: string;
  region: string;
  service: string;
  resource_type: string;
  complete: boolean;
  reason: string | null;
}

/** Security Hub findings and Lake Formation permissions are evaluated as resources of these types. */
export const FINDING_TYPE = 'AWS::SecurityHub::Finding';
export const PERMISSION_TYPE = 'AWS::LakeFormation::Permission';

/** Types of the metadata repository: every evaluation reads the whole catalog, so they are always covered. */
export const isCatalogType = (type: string) => type.startsWith('Custos::');

/** Which run items a resource type is checked against (catalog types are not run items). */
export function itemSlice(resourceType: string): { kind: 'resource' | 'finding' | 'permission'; type?: string } | undefined {
  if (isCatalogType(resourceType)) return undefined;
  if (resourceType === FINDING_TYPE) return { kind: 'finding' };
  if (resourceType === PERMISSION_TYPE) return { kind: 'permission' };
  return { kind: 'resource', type: resourceType };
}

/** The resource type a run item counts as. */
function typeOfItem(kind: string, type: string): string | undefined {
  if (kind === 'resource') return type;
  if (kind === 'finding') return FINDING_TYPE;
  if (kind === 'permission') return PERMISSION_TYPE;
  return undefined;
}

const key = (account: string, region: string, type: string) => `${account}\u0000${region}\u0000${type}`;

/**
 * The coverage of an imported snapshot: for every account, region and type it holds at least one item
 * of, a complete listing (the document says so by holding them), then its explicit `coverage`
 * entries, which win (a snapshot may say "S3 fully listed, no bucket", or "IAM not complete").
 */
export function snapshotCoverage(state: RunState, explicit: Array<{ account: string; region: string; resource_type: string; complete: boolean; reason?: string }>): CoverageRow[] {
  const rows = new Map<string, CoverageRow>();
  const add = (account: string, region: string, resource_type: string) =>
    rows.set(key(account, region, resource_type), { account, region, service: 'file', resource_type, complete: true, reason: null });
  for (const r of state.resources) add(r.account, r.region, r.type);
  for (const f of state.findings) add(f.account, f.region, FINDING_TYPE);
  for (const p of state.permissions) add(p.account, p.region, PERMISSION_TYPE);
  for (const e of explicit) {
    rows.set(key(e.account, e.region, e.resource_type), {
      account: e.account,
      region: e.region,
      service: 'file',
      resource_type: e.resource_type,
      complete: e.complete,
      reason: e.complete ? null : (e.reason ?? 'declared incomplete by the snapshot'),
    });
  }
  return [...rows.values()];
}

export async function storeCoverage(trx: Knex.Transaction, runId: string, rows: CoverageRow[]): Promise<void> {
  await trx('run_coverage').where({ run_id: runId }).delete();
  if (rows.length === 0) return;
  // The same type from two services of one source (not today, but allowed): one row each.
  for (let i = 0; i < rows.length; i += 1_000) await trx('run_coverage').insert(rows.slice(i, i + 1_000).map((r) => ({ run_id: runId, ...r })));
}

export function readCoverage(db: Knex | Knex.Transaction, runId: string): Promise<CoverageRow[]> {
  return db('run_coverage').select('account', 'region', 'service', 'resource_type', 'complete', 'reason').where({ run_id: runId }).orderBy(['account', 'region', 'resource_type', 'service']);
}

/** How many items of each (account, region, resource type) a run holds (kept when it finished: run_item_counts). */
export async function observedCounts(db: Knex | Knex.Transaction, runId: string): Promise<Map<string, number>> {
  const rows = (await runItemCounts(db, runId)).filter((r) => r.kind !== 'setting');
  const counts = new Map<string, number>();
  for (const r of rows) {
    const type = typeOfItem(r.kind, r.type);
    if (type) counts.set(key(r.account, r.region, type), (counts.get(key(r.account, r.region, type)) ?? 0) + r.items);
  }
  return counts;
}

/**
 * The run's coverage as policies read it (`input.coverage`): per resource type, account and region
 * the run listed, whether that listing was complete (true only when some service listed it completely
 * and none incompletely, as resolution counts it). Rules that conclude from absence ("no trail", "no
 * detector") fire only where the type they rely on is true here. `types` limits it to the types whose
 * items the input carries: an input without AWS resources must not claim they were listed.
 */
export type CoverageInput = Record<string, Record<string, Record<string, boolean>>>;

export function coverageInput(rows: CoverageRow[], types?: (type: string) => boolean): CoverageInput {
  const coverage: CoverageInput = {};
  for (const r of rows) {
    if (types && !types(r.resource_type)) continue;
    const regions = ((coverage[r.resource_type] ??= {})[r.account] ??= {});
    regions[r.region] = (regions[r.region] ?? true) && r.complete;
  }
  return coverage;
}

/** What an evaluation could say about one rule: whether it tested it, and if not, why. */
export interface RuleCoverage {
  tested: boolean;
  /** Some listing of its types was incomplete (or the rule saw nothing at all). */
  partial: boolean;
  why?: string;
}

/**
 * Where a rule needs complete listings before its silence means compliance (`listing_scope` in its
 * `# METADATA`, of the types `listed_types`, by default its `resource_types`):
 * - `region`: every account and region the run covered (GuardDuty, Config, Security Hub: "in every region");
 * - `account`: every account the run covered, in some region and incompletely in none (IAM, account settings: global facts);
 * - `account_regions`: every account the run covered, in every region of it that the run covered
 *   (CloudTrail: a trail is reported from its home region, so any covered region may hold it);
 * - `resources`: every account and region where a resource of the rule's `resource_types` was seen
 *   (AWS Backup plans, wherever a table or cluster they should select is).
 * The rule's Rego makes the same check through `custos.lib` before it concludes from absence.
 */
export const LISTING_SCOPES = ['region', 'account', 'account_regions', 'resources'] as const;
export type ListingScope = (typeof LISTING_SCOPES)[number];

/** A rule as far as coverage goes: its types, and whether zero resources of them is compliance. */
export interface CoverageRule {
  id: string;
  resource_types: string[];
  absence_is_compliance?: boolean;
  listing_scope?: ListingScope;
  listed_types?: string[];
}

/**
 * Whether an evaluation tested a rule. It did when it saw at least one resource of the rule's types
 * in an account and region whose listing of that type was complete; or, for a rule that declares
 * `absence_is_compliance`, when some listing of its types was complete (zero public buckets is
 * compliance only if S3 was fully listed). Catalog types are always complete; `catalogCounts` says
 * how many entries of each there were. A rule with a `listing_scope` is tested only if, besides,
 * every scope the run covered had its `listed_types` listed completely: otherwise its silence there
 * is no verdict, and the reason names where it was not listed.
 */
export function ruleCoverage(rule: CoverageRule, rows: CoverageRow[], observed: Map<string, number>, catalogCounts: Record<string, number>): RuleCoverage {
  const base = typeCoverage(rule, rows, observed, catalogCounts);
  if (!rule.listing_scope) return base;
  const unlisted = unlistedScopes(rule.listing_scope, rule.listed_types?.length ? rule.listed_types : rule.resource_types, rule.resource_types, rows, observed);
  // The run covered no account or region the rule applies to: what its types' listings say stands.
  if (unlisted === undefined) return base;
  // Listed completely wherever it applies: its silence is a verdict, even over zero resources.
  if (unlisted.length === 0) return { tested: true, partial: base.partial };
  const shown = unlisted.slice(0, 10).join(', ') + (unlisted.length > 10 ? ` and ${unlisted.length - 10} more` : '');
  return { tested: false, partial: true, why: `not listed completely where it applies: ${shown}` };
}

/**
 * The scopes of a rule where its listed types were not listed completely, as text ("AWS::CloudTrail::Trail
 * in 111122223333/eu-west-1 (never listed)"); undefined when the run covered no scope of it at all.
 * Region-level scopes leave out region '' (account-level items of snapshots).
 */
function unlistedScopes(scope: ListingScope, listedTypes: string[], subjectTypes: string[], rows: CoverageRow[], observed: Map<string, number>): string[] | undefined {
  // Why a type is not complete in the rows given: never listed, or the reasons of its incomplete listings.
  const gap = (ofType: CoverageRow[]) => {
    const incomplete = ofType.filter((r) => !r.complete);
    if (incomplete.length) return `incomplete: ${[...new Set(incomplete.map((r) => `${r.service}: ${r.reason}`))].join('; ')}`;
    return ofType.length ? undefined : 'never listed';
  };
  const at = (type: string, account: string, region?: string) =>
    rows.filter((r) => r.resource_type === type && r.account === account && (region === undefined || r.region === region));
  const regionsOf = new Map<string, Set<string>>();
  for (const r of rows) if (r.region !== '') (regionsOf.get(r.account) ?? regionsOf.set(r.account, new Set()).get(r.account)!).add(r.region);
  const accounts = [...new Set(rows.map((r) => r.account))].sort();
  const places: Array<[string, string]> = [];
  if (scope === 'region' || scope === 'account_regions') {
    for (const account of accounts) for (const region of [...(regionsOf.get(account) ?? [])].sort()) places.push([account, region]);
  } else if (scope === 'resources') {
    const seen = new Set<string>();
    for (const [k, n] of observed) {
      const [account, region, type] = k.split('\u0000') as [string, string, string];
      if (n > 0 && subjectTypes.includes(type)) seen.add(`${account}\u0000${region}`);
    }
    for (const place of [...seen].sort()) places.push(place.split('\u0000') as [string, string]);
  }
  const missing: string[] = [];
  if (scope === 'account') {
    if (accounts.length === 0) return undefined;
    for (const account of accounts) {
      for (const type of listedTypes) {
        const why = gap(at(type, account));
        if (why) missing.push(`${type} in ${account} (${why})`);
      }
    }
    return missing;
  }
  if (places.length === 0) return undefined;
  for (const [account, region] of places) {
    for (const type of listedTypes) {
      const why = gap(at(type, account, region));
      if (why) missing.push(`${type} in ${account}/${region || '-'} (${why})`);
    }
  }
  return missing;
}

function typeCoverage(rule: CoverageRule, rows: CoverageRow[], observed: Map<string, number>, catalogCounts: Record<string, number>): RuleCoverage {
  const types = rule.resource_types;
  const ofRule = rows.filter((r) => types.includes(r.resource_type));
  const complete = ofRule.filter((r) => r.complete);
  const incomplete = ofRule.filter((r) => !r.complete);
  const catalogTypes = types.filter(isCatalogType);
  const seen =
    complete.reduce((n, r) => n + (observed.get(key(r.account, r.region, r.resource_type)) ?? 0), 0) + catalogTypes.reduce((n, t) => n + (catalogCounts[t] ?? 0), 0);
  const listed = complete.length > 0 || catalogTypes.length > 0;
  const tested = seen > 0 || (rule.absence_is_compliance === true && listed);
  const partial = incomplete.length > 0 || !listed;
  if (tested) return { tested, partial };
  const where = (r: CoverageRow) => `${r.resource_type} in ${r.account || '-'}/${r.region || '-'}`;
  const why: string[] = [];
  if (incomplete.length) why.push(`not completely listed: ${incomplete.map((r) => `${where(r)} (${r.service}: ${r.reason})`).join('; ')}`);
  if (complete.length) why.push(`listed completely with none observed: ${complete.map(where).join(', ')}`);
  if (!ofRule.length && !catalogTypes.length) why.push(`no collection covered ${types.join(', ')}`);
  if (catalogTypes.length) why.push(`the catalog has no ${catalogTypes.join(', ')}`);
  return { tested, partial, why: why.join('; ') };
}
