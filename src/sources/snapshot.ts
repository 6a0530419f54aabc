import { Type, type Static } from '@sinclair/typebox';
import { Ajv } from 'ajv';
import addFormatsModule from 'ajv-formats';
import { HttpProblem, type FieldError } from '../http/problem.js';
import { fieldErrors } from '../http/validation.js';
import { Finding, LakeFormationPermission, RESOURCE_CONFIGURATIONS, Resource } from '../policy/input.js';
import { snapshotCoverage, type CoverageRow } from './coverage.js';
import type { RunState } from './run-store.js';

const Setting = Type.Object({ key: Type.String({ minLength: 1 }), account: Type.String(), region: Type.String(), value: Type.Unknown() }, { additionalProperties: false });

/**
 * What a snapshot says it listed completely (or not). Without it, every account, region and type the
 * snapshot holds an item of counts as completely listed, and nothing else does.
 */
const CoverageDeclaration = Type.Object(
  {
    account: Type.String({ maxLength: 64 }),
    region: Type.String({ maxLength: 64 }),
    resource_type: Type.String({ minLength: 1, maxLength: 200, description: 'e.g. AWS::S3::Bucket, AWS::SecurityHub::Finding, AWS::LakeFormation::Permission' }),
    complete: Type.Boolean(),
    reason: Type.Optional(Type.String({ maxLength: 1000 })),
  },
  { additionalProperties: false },
);

/** A collection imported from a file: the normalised state, as the collectors would have produced it. */
export const Snapshot = Type.Object(
  {
    observed_at: Type.Optional(Type.String({ format: 'date-time', description: 'when the state was observed; default: now' })),
    resources: Type.Array(Resource),
    findings: Type.Array(Finding),
    lake_formation: Type.Object({ permissions: Type.Array(LakeFormationPermission) }),
    settings: Type.Optional(Type.Array(Setting)),
    coverage: Type.Optional(Type.Array(CoverageDeclaration, { maxItems: 10_000, description: 'what was listed completely; default: each account, region and type the snapshot holds items of' })),
  },
  { additionalProperties: false },
);
export type Snapshot = Static<typeof Snapshot>;

const addFormats = (addFormatsModule as unknown as { default: (ajv: Ajv) => Ajv }).default;
const ajv = addFormats(new Ajv({ allErrors: true, strict: false }));
const validateSnapshot = ajv.compile<Snapshot>(Snapshot);
const validateConfiguration = Object.fromEntries(
  Object.entries(RESOURCE_CONFIGURATIONS).map(([type, schema]) => [type, ajv.compile(schema)]),
) as Record<string, ReturnType<typeof ajv.compile>>;

/**
 * Checks a snapshot whole before anything is stored: the document shape, then each resource's
 * configuration against its type. Throws a 400 naming every offending field (up to 20).
 */
export function parseSnapshot(snapshot: unknown, prefix = 'snapshot'): RunState & { observedAt?: string; coverage: CoverageRow[] } {
  const problems: FieldError[] = [];
  const add = (errors: FieldError[], path: string) => problems.push(...errors.map((e) => ({ ...e, field: e.field === '(root)' ? path : `${path}.${e.field}` })));
  if (!validateSnapshot(snapshot)) add(fieldErrors(validateSnapshot.errors ?? [], 'body'), prefix);
  // Per-type configuration checks run even when the document shape failed, so one answer names every problem.
  const resources = (snapshot as { resources?: unknown })?.resources;
  if (Array.isArray(resources)) {
    resources.forEach((resource: { type?: unknown; configuration?: unknown }, i) => {
      if (typeof resource?.type !== 'string') return;
      const validate = validateConfiguration[resource.type];
      if (!validate) {
        problems.push({ location: 'body', field: `${prefix}.resources[${i}].type`, message: `must be one of: ${Object.keys(RESOURCE_CONFIGURATIONS).join(', ')}` });
      } else if (!validate(resource.configuration)) {
        add(fieldErrors(validate.errors ?? [], 'body'), `${prefix}.resources[${i}].configuration`);
      }
    });
  }
  if (problems.length) {
    const shown = problems.slice(0, 20);
    throw new HttpProblem(400, 'invalid-snapshot', `the snapshot is not valid; nothing was stored: ${shown.map((p) => `${p.field} ${p.message}`).join('; ')}`, shown);
  }
  const valid = snapshot as Snapshot;
  const state: RunState = { resources: valid.resources, findings: valid.findings, permissions: valid.lake_formation.permissions, settings: valid.settings ?? [] };
  return { ...state, observedAt: valid.observed_at, coverage: snapshotCoverage(state, valid.coverage ?? []) };
}
