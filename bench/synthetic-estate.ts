/**
 * A synthetic estate for bench/evaluate.ts and the evaluation tests: the demo estate's resources and
 * findings (src/demo/wealth-estate.ts) repeated over many accounts and regions. One item in ten is a
 * copy of a defective template (a public bucket, an unencrypted volume, a finding past its SLA...),
 * the others copies of compliant ones, so the findings are a realistic share of the estate; the
 * count is printed with every figure. `changeResources` changes a share of the resources in place
 * (same identity, another state of the same type: some turn defective, some compliant).
 */
import { wealthEstate } from '../src/demo/wealth-estate.js';

export interface EstateSizes {
  resources: number;
  findings: number;
  permissions: number;
  accounts?: number;
  regions?: number;
}

type Resource = (typeof wealthEstate.resources)[number];
type Finding = (typeof wealthEstate.findings)[number];

// What the demo estate violates (test/evaluation/evaluation.test.ts): the other templates are compliant.
const DEFECTIVE_RESOURCES = new Set(['wealth-client-documents', 'wealth-account-statements', 'wealth-analytics-exports', 'vol-0a1b2c3d4e5f60001', '111122223333:us-east-1', 'wealth-reporting', '9a8b7c6d-exports', '111122223333#AWS::IAM::PasswordPolicy']);
const isDefective = (r: Resource) => DEFECTIVE_RESOURCES.has(r.id) || DEFECTIVE_RESOURCES.has(`${r.id}#${r.type}`);
const LATE_FINDINGS = new Set(['S3.2/finding/0001', 'EC2.3/finding/0002']);
const isLate = (f: Finding) => [...LATE_FINDINGS].some((suffix) => f.id.endsWith(suffix));

const cleanResources = wealthEstate.resources.filter((r) => !isDefective(r));
const defectiveResources = wealthEstate.resources.filter(isDefective);
const onTime = wealthEstate.findings.filter((f) => !isLate(f));
const late = wealthEstate.findings.filter(isLate);

const accountOf = (i: number, accounts: number) => String(200000000000 + (i % accounts));
const regionOf = (i: number, regions: number) => ['us-east-1', 'us-west-2', 'eu-west-1', 'eu-central-1', 'ap-southeast-1', 'sa-east-1'][Math.floor(i / 7) % regions]!;

/** The template of resource i: defective for one in ten. */
function resourceTemplate(i: number, defective: boolean): Resource {
  return defective ? defectiveResources[Math.floor(i / 10) % defectiveResources.length]! : cleanResources[i % cleanResources.length]!;
}

function resource(i: number, template: Resource, sizes: EstateSizes): Resource {
  const account = accountOf(i, sizes.accounts ?? 50);
  const region = regionOf(i, sizes.regions ?? 4);
  // Account-level pseudo resources are named after their account (and region), as collectors name them.
  const id = template.id.startsWith('111122223333') ? `${account}${template.type === 'AWS::EC2::RegionalSettings' ? `:${region}` : ''}-${i}` : `${template.id}-${i}`;
  return { ...template, id, account, region, ...('arn' in template ? { arn: `arn:aws:s3:::${id}` } : {}) } as Resource;
}

export function syntheticEstate(sizes: EstateSizes) {
  const resources = Array.from({ length: sizes.resources }, (_, i) => resource(i, resourceTemplate(i, i % 10 === 0), sizes));
  const findings = Array.from({ length: sizes.findings }, (_, i) => {
    const template = i % 10 === 0 ? late[Math.floor(i / 10) % late.length]! : onTime[i % onTime.length]!;
    return { ...template, id: `${template.id}-${i}`, account: accountOf(i, sizes.accounts ?? 50), region: regionOf(i, sizes.regions ?? 4) };
  });
  // Table grants; one in twenty on a table with restricted columns the catalog has no grant for.
  // Each one distinct (its principal is the i-th of its account), so the run holds as many
  // permissions as asked for: identical permissions are one item of a run.
  const tables = ['accounts', 'transactions', 'portfolios', 'contact_information'];
  const permissions = Array.from({ length: sizes.permissions }, (_, i) => {
    const account = accountOf(i, sizes.accounts ?? 50);
    return {
      principal: `arn:aws:iam::${account}:role/team-${Math.floor(i / (sizes.accounts ?? 50))}`,
      resource: { kind: 'table' as const, database: 'wealth', table: i % 20 === 0 ? 'clients' : tables[i % tables.length]! },
      permissions: ['SELECT'],
      grantable: [],
      account,
      region: regionOf(i, sizes.regions ?? 4),
    };
  });
  return { observed_at: wealthEstate.observed_at, resources, findings, lake_formation: { permissions }, settings: [] as unknown[] };
}

/**
 * The estate with `share` of its resources changed (evenly spread, so every account has some):
 * each keeps its identity and takes another state of its type (compliant ↔ defective where the demo
 * has both, else a changed tag).
 */
export function changeResources<E extends ReturnType<typeof syntheticEstate>>(estate: E, share: number, sizes: EstateSizes): E {
  const every = Math.max(1, Math.round(1 / share));
  // One resource in each block of `every`, at an offset that moves from block to block: resource i
  // is in account i mod accounts, so a fixed offset (i mod every = 3, as before) changed resources
  // of one account only when `every` is a multiple of the account count.
  const isChanged = (i: number) => i % every === (Math.floor(i / every) * 7 + 3) % every;
  const resources = estate.resources.map((r, i) => {
    if (!isChanged(i)) return r;
    const other = wealthEstate.resources.find((t) => t.type === r.type && isDefective(t) !== (i % 10 === 0));
    const changed = other ? resource(i, other, sizes) : r;
    return { ...changed, id: r.id, account: r.account, region: r.region, ...('arn' in r ? { arn: r.arn } : {}), tags: { ...(('tags' in r ? r.tags : {}) as object), Revision: 'changed' } } as Resource;
  });
  return { ...estate, resources };
}
