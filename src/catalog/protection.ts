import type { Knex } from 'knex';
import type { Approvers } from '../changes/index.js';
import { classificationRanks } from './classifications.js';
import type { MaskingParams, MaskingStrategy } from './masking.js';

/**
 * What lowers the protection of catalogued data, so it needs a second person (docs/SECURITY.md):
 * a lower classification of a column or asset, a PII type or masking rule taken off (or changed on)
 * a non-public column, a weaker masking rule on it, or a masking rule made weaker. Raising
 * protection is never in this list: it applies at once.
 */

interface ColumnState {
  name: string;
  classification: string;
  pii_type?: string | null;
  masking_rule?: string | null;
}

interface RuleState {
  strategy: MaskingStrategy;
  params: MaskingParams;
}

/** How much of a value a strategy hides: redact hides all, the others keep a part. */
const HIDES: Record<MaskingStrategy, number> = { redact: 2, show_last: 1, email_domain: 1 };

/** Whether masking by `after` may reveal more than by `before` (none reveals everything). */
export function revealsMore(before: RuleState | undefined, after: RuleState | undefined): boolean {
  if (!before) return false;
  if (!after) return true;
  if (HIDES[after.strategy] !== HIDES[before.strategy]) return HIDES[after.strategy] < HIDES[before.strategy];
  // Two partial strategies keep different parts: the other part is newly revealed.
  if (after.strategy !== before.strategy) return HIDES[after.strategy] < 2;
  if (after.strategy === 'show_last') return (after.params.visible ?? 4) > (before.params.visible ?? 4);
  return false;
}

/** The catalog's ranks and masking rules, read once per check. */
export async function protectionContext(trx: Knex) {
  const ranks = await classificationRanks(trx);
  const rules = new Map<string, RuleState>(
    (await trx('masking_rules').select('name', 'strategy', 'params')).map((r: { name: string; strategy: MaskingStrategy; params: MaskingParams }) => [r.name, { strategy: r.strategy, params: r.params ?? {} }]),
  );
  // Unknown names rank highest: a typo never counts as a lowering here (the write itself refuses it).
  const rank = (name: string) => ranks.get(name) ?? Number.MAX_SAFE_INTEGER;
  return { rank, rules };
}
type Context = Awaited<ReturnType<typeof protectionContext>>;

/** Why changing `before` columns into `after` lowers protection (empty: it does not). */
export function columnLowerings(context: Context, before: ColumnState[], after: ColumnState[]): string[] {
  const reasons: string[] = [];
  const publicRank = context.rank('public');
  for (const old of before) {
    const now = after.find((c) => c.name === old.name);
    const protectedColumn = context.rank(old.classification) > publicRank;
    if (!now) {
      if (protectedColumn || old.pii_type || old.masking_rule) reasons.push(`column ${old.name} (${old.classification}${old.pii_type ? `, ${old.pii_type}` : ''}) is removed from the catalog`);
      continue;
    }
    if (context.rank(now.classification) < context.rank(old.classification)) reasons.push(`column ${old.name}: classification lowered from ${old.classification} to ${now.classification}`);
    if (!protectedColumn) continue;
    if (old.pii_type && (now.pii_type ?? null) !== old.pii_type) reasons.push(`column ${old.name}: PII type ${old.pii_type} ${now.pii_type ? `changed to ${now.pii_type}` : 'removed'}`);
    if (old.masking_rule && (now.masking_rule ?? null) !== old.masking_rule) {
      const weaker = revealsMore(context.rules.get(old.masking_rule), now.masking_rule ? context.rules.get(now.masking_rule) : undefined);
      if (!now.masking_rule) reasons.push(`column ${old.name}: masking rule ${old.masking_rule} removed`);
      else if (weaker) reasons.push(`column ${old.name}: masking rule ${old.masking_rule} replaced by ${now.masking_rule}, which reveals more`);
    }
  }
  return reasons;
}

/** Why an asset change lowers protection: its own classification, or its columns'. */
export function assetLowerings(context: Context, before: { classification: string; columns: ColumnState[] }, after: { classification?: string; columns?: ColumnState[] }): string[] {
  const reasons: string[] = [];
  if (after.classification !== undefined && context.rank(after.classification) < context.rank(before.classification)) {
    reasons.push(`asset classification lowered from ${before.classification} to ${after.classification}`);
  }
  if (after.columns) reasons.push(...columnLowerings(context, before.columns, after.columns));
  return reasons;
}

/** Who approves a catalog lowering on an asset: risk owners, or the owner or steward of its domain. */
export async function assetApprovers(trx: Knex, domain: string): Promise<Approvers> {
  const row: { owner: string; steward: string } | undefined = await trx('domains').where({ name: domain }).first('owner', 'steward');
  return { roles: ['admin', 'compliance_officer'], subjects: row ? [...new Set([row.owner, row.steward])] : [] };
}
