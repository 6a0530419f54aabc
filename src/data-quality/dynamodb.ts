import { DynamoDBClient, ScanCommand, type AttributeValue } from '@aws-sdk/client-dynamodb';
import { cusipValid, EMAIL_REGEX, ISO_COUNTRIES, isinValid, maxAgeOf, periodMs, type NamedFormat } from './kinds.js';
import type { Outcome, RulePlan } from './plan.js';
import { tableLevelOutcome } from './postgres.js';

/**
 * Data quality rules on DynamoDB, which has no aggregate queries: a Scan of only the attributes
 * the rule needs, up to the connection's scan limit, checked as it is read (nothing is kept but
 * counts, the values a unique rule compares, and the first samples). A table larger than the limit
 * is sampled: the result says so (`complete: false`), and a sampled pass resolves nothing.
 */

function plain(value: AttributeValue | undefined): unknown {
  if (!value || value.NULL) return null;
  if (value.S !== undefined) return value.S;
  if (value.N !== undefined) return Number(value.N);
  if (value.BOOL !== undefined) return value.BOOL;
  return JSON.stringify(value);
}

const countries = new Set(ISO_COUNTRIES);
const email = new RegExp(EMAIL_REGEX);

/** A test that is true for a failing value (not null), per row-level kind. */
function failingTest(plan: RulePlan): (value: unknown) => boolean {
  const d = plan.rule.definition;
  switch (plan.rule.rule_type) {
    case 'range': {
      const num = (b: unknown) => (b === 'now' ? Date.now() : typeof b === 'number' ? b : Date.parse(String(b)));
      const min = d.min === undefined ? undefined : num(d.min);
      const max = d.max === undefined ? undefined : num(d.max);
      const dates = typeof (d.min ?? d.max) !== 'number';
      return (value) => {
        const v = dates ? Date.parse(String(value)) : Number(value);
        if (Number.isNaN(v)) return true;
        return (min !== undefined && v < min) || (max !== undefined && v > max);
      };
    }
    case 'allowed_values': {
      const allowed = new Set((d.values as unknown[]).map(String));
      return (value) => !allowed.has(String(value));
    }
    case 'regex':
    case 'format': {
      const named = plan.rule.rule_type === 'format' ? (d.pattern as NamedFormat | undefined) : undefined;
      if (named === 'email') return (v) => !email.test(String(v));
      if (named === 'iso_country') return (v) => !countries.has(String(v));
      if (named === 'cusip') return (v) => !cusipValid(String(v));
      if (named === 'isin') return (v) => !isinValid(String(v));
      const re = new RegExp(String(plan.rule.rule_type === 'regex' ? d.pattern : d.regex), 'u');
      return (v) => !re.test(String(v));
    }
    default:
      return () => false;
  }
}

export class DynamoRunner {
  constructor(
    private readonly client: DynamoDBClient,
    private readonly scanLimit: number,
    private readonly sampleSize: number,
  ) {}

  static create(settings: { region?: string; scan_limit?: number; sample_size?: number }, aws: { endpoint?: string; region?: string; maxAttempts?: number }) {
    const client = new DynamoDBClient({ region: settings.region ?? aws.region ?? process.env.AWS_REGION ?? 'us-east-1', endpoint: aws.endpoint, maxAttempts: aws.maxAttempts ?? 3 });
    return new DynamoRunner(client, settings.scan_limit ?? 10_000, settings.sample_size ?? 10);
  }

  async run(plan: RulePlan): Promise<Outcome> {
    const { rule } = plan;
    const kind = rule.rule_type;
    const uniqueColumns = kind === 'unique' ? ((rule.definition.columns as string[] | undefined) ?? [rule.column_name!]) : [];
    const attributes = [...new Set([plan.keyColumn, ...(rule.column_name ? [rule.column_name] : []), ...uniqueColumns])];
    const names = Object.fromEntries(attributes.map((a, i) => [`#a${i}`, a]));
    const test = failingTest(plan);
    let checked = 0;
    let failing = 0;
    let newest: number | undefined;
    const samples: Array<Record<string, unknown>> = [];
    const seen = new Map<string, { row: Record<string, unknown>; n: number }>();
    let start: Record<string, AttributeValue> | undefined;
    let complete = false;
    while (checked < this.scanLimit) {
      const page = await this.client.send(
        new ScanCommand({
          TableName: plan.asset.table_name,
          ProjectionExpression: Object.keys(names).join(', '),
          ExpressionAttributeNames: names,
          Limit: Math.min(1000, this.scanLimit - checked),
          ExclusiveStartKey: start,
        }),
      );
      for (const item of page.Items ?? []) {
        checked++;
        const row = Object.fromEntries(attributes.map((a) => [a, plain(item[a])]));
        const value = rule.column_name ? row[rule.column_name] : undefined;
        let bad = false;
        if (kind === 'not_null') bad = value === null;
        else if (kind === 'freshness') {
          const t = value === null ? NaN : Date.parse(String(value));
          if (!Number.isNaN(t) && (newest === undefined || t > newest)) newest = t;
        } else if (kind === 'unique') {
          const values = uniqueColumns.map((column) => row[column]);
          if (values.every((v) => v !== null)) {
            const key = JSON.stringify(values);
            const entry = seen.get(key);
            if (entry) entry.n++;
            else seen.set(key, { row: Object.fromEntries(uniqueColumns.map((column, i) => [column, values[i]])), n: 1 });
          }
        } else if (kind !== 'row_count' && value !== null) bad = test(value);
        if (bad) {
          failing++;
          if (samples.length < this.sampleSize) samples.push(Object.fromEntries(attributes.filter((a) => a === plan.keyColumn || a === rule.column_name).map((a) => [a, row[a]])));
        }
      }
      start = page.LastEvaluatedKey;
      if (!start) {
        complete = true;
        break;
      }
    }
    const observed = { scanned: checked, sampled: !complete };
    if (kind === 'unique') {
      const duplicates = [...seen.values()].filter((e) => e.n > 1);
      return {
        checked,
        failing: duplicates.reduce((sum, e) => sum + e.n, 0),
        complete,
        observed,
        samples: duplicates.slice(0, this.sampleSize).map((e) => ({ ...e.row, '#rows': e.n })),
      };
    }
    if (kind === 'freshness') {
      const fresh = newest !== undefined && newest >= Date.now() - periodMs(maxAgeOf(rule.definition));
      return { ...tableLevelOutcome(plan, { checked, newest: newest === undefined ? null : new Date(newest), fresh }), complete, observed: { ...observed, newest: newest === undefined ? null : new Date(newest).toISOString(), max_age: maxAgeOf(rule.definition) } };
    }
    if (kind === 'row_count') {
      const outcome = tableLevelOutcome(plan, { checked });
      // A sampled count is a lower bound: only a too-many-rows failure can be trusted from it.
      return { ...outcome, complete, observed: { ...outcome.observed, ...observed } };
    }
    return { checked, failing, complete, observed, samples };
  }

  close(): void {
    this.client.destroy();
  }
}
