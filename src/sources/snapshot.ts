import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import { Type, type Static, type TSchema } from '@sinclair/typebox';
import { Ajv, type ErrorObject } from 'ajv';
import addFormatsModule from 'ajv-formats';
import { HttpProblem, type FieldError } from '../http/problem.js';
import { fieldErrors } from '../http/validation.js';
import { Finding, LakeFormationPermission, RESOURCE_CONFIGURATIONS, Resource } from '../policy/input.js';
import { snapshotCoverage, type CoverageRow } from './coverage.js';
import { itemChunks, type RunState } from './run-store.js';

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
const Coverage = Type.Array(CoverageDeclaration, { maxItems: 10_000, description: 'what was listed completely; default: each account, region and type the snapshot holds items of' });

/** A collection imported from a file: the normalised state, as the collectors would have produced it. */
export const Snapshot = Type.Object(
  {
    observed_at: Type.Optional(Type.String({ format: 'date-time', description: 'when the state was observed; default: now' })),
    resources: Type.Array(Resource),
    findings: Type.Array(Finding),
    lake_formation: Type.Object({ permissions: Type.Array(LakeFormationPermission) }),
    settings: Type.Optional(Type.Array(Setting)),
    coverage: Type.Optional(Coverage),
  },
  { additionalProperties: false },
);
export type Snapshot = Static<typeof Snapshot>;

/** How many problems a refusal lists; the rest are counted (`error_count`). */
export const MAX_REPORTED_ERRORS = 100;
/** Items validated between two yields to the event loop, so a large import never stalls other callers. */
const SLICE = 1_000;

const addFormats = (addFormatsModule as unknown as { default: (ajv: Ajv) => Ajv }).default;
const ajv = addFormats(new Ajv({ allErrors: true, strict: false }));
// Stops at an item's first error: how items are counted once 100 problems are listed, and the
// fast path for valid ones (a detailed report is built only for the items that are listed).
const quick = addFormats(new Ajv({ allErrors: false, strict: false }));
// The document's outline with its arrays' items unchecked: items are checked one by one below, so
// a document of 500,000 bad items never makes Ajv build one error list for all of them.
const validateOutline = ajv.compile(
  Type.Object(
    {
      observed_at: Type.Optional(Type.String({ format: 'date-time' })),
      resources: Type.Array(Type.Unknown()),
      findings: Type.Array(Type.Unknown()),
      lake_formation: Type.Object({ permissions: Type.Array(Type.Unknown()) }),
      settings: Type.Optional(Type.Array(Type.Unknown())),
      coverage: Type.Optional(Coverage), // at most 10,000 small items: checked whole
    },
    { additionalProperties: false },
  ),
);
/** A schema compiled twice: `quick` says whether a value is valid, `detailed` lists all its errors. */
const both = (schema: TSchema) => ({ quick: quick.compile(schema), detailed: ajv.compile(schema) });
type Check = ReturnType<typeof both>;
const items: Array<{ path: (prefix: string) => string; get: (s: Record<string, any>) => unknown; check: Check; resources?: true }> = [
  { path: (p) => `${p}.resources`, get: (s) => s.resources, check: both(Resource), resources: true },
  { path: (p) => `${p}.findings`, get: (s) => s.findings, check: both(Finding) },
  { path: (p) => `${p}.lake_formation.permissions`, get: (s) => s.lake_formation?.permissions, check: both(LakeFormationPermission) },
  { path: (p) => `${p}.settings`, get: (s) => s.settings, check: both(Setting) },
];
const configurations = Object.fromEntries(Object.entries(RESOURCE_CONFIGURATIONS).map(([type, schema]) => [type, both(schema)])) as Record<string, Check>;

/**
 * Lists the first 100 offending fields and counts the offending entries (an item of the lists or
 * a field of the outline): memory and work stay bounded per entry whatever the input.
 */
class Problems {
  readonly shown: FieldError[] = [];
  entries = 0;

  /** Checks one value; on failure counts it and, while the list has room, lists its fields. */
  check(check: Check, value: unknown, path: string): void {
    if (check.quick(value)) return;
    this.entries++;
    if (this.shown.length < MAX_REPORTED_ERRORS && !check.detailed(value)) this.list(check.detailed.errors, path);
  }

  list(errors: ErrorObject[] | null | undefined, path: string): void {
    for (const error of fieldErrors(errors ?? [], 'body')) this.push({ ...error, field: error.field === '(root)' ? path : `${path}.${error.field}` });
  }

  push(error: FieldError): void {
    if (this.shown.length < MAX_REPORTED_ERRORS) this.shown.push(error);
  }
}

/** How far ahead of the server's clock a snapshot's observed_at may be. */
const MAX_CLOCK_SKEW_MS = 5 * 60_000;

/**
 * Checks a snapshot whole before anything is stored: the outline, each item against its schema,
 * then each resource's configuration against its type, yielding to the event loop between slices.
 * Throws a 400 listing the first 100 offending fields and the count of all.
 */
export async function parseSnapshot(snapshot: unknown, prefix = 'snapshot'): Promise<RunState & { observedAt?: string; coverage: CoverageRow[] }> {
  const problems = new Problems();
  if (!validateOutline(snapshot)) {
    const outline = fieldErrors(validateOutline.errors ?? [], 'body');
    problems.entries += outline.length;
    problems.list(validateOutline.errors, prefix);
  }
  // Items are checked even when the outline failed, so one answer names every kind of problem.
  const document = (typeof snapshot === 'object' && snapshot !== null ? snapshot : {}) as Record<string, any>;
  let checked = 0;
  for (const { path, get, check, resources } of items) {
    const list = get(document);
    if (!Array.isArray(list)) continue;
    for (let i = 0; i < list.length; i++) {
      if (++checked % SLICE === 0) await yieldToEventLoop();
      const item = list[i];
      problems.check(check, item, `${path(prefix)}[${i}]`);
      if (resources && typeof item?.type === 'string') {
        const configuration = configurations[item.type];
        if (!configuration) {
          problems.entries++;
          problems.push({ location: 'body', field: `${prefix}.resources[${i}].type`, message: `must be one of: ${Object.keys(RESOURCE_CONFIGURATIONS).join(', ')}` });
        } else problems.check(configuration, item.configuration, `${prefix}.resources[${i}].configuration`);
      }
    }
  }
  // Evidence is dated by observed_at, and received_at flags what arrives after its period ended
  // (issue 13); a snapshot from the future would date evidence into a period not begun yet, so it is
  // refused beyond a few minutes of clock skew.
  const observed = typeof document.observed_at === 'string' ? Date.parse(document.observed_at) : NaN;
  if (observed > Date.now() + MAX_CLOCK_SKEW_MS) {
    problems.entries++;
    problems.push({ location: 'body', field: `${prefix}.observed_at`, message: `must not be more than ${MAX_CLOCK_SKEW_MS / 60_000} minutes in the future (the server's clock is ${new Date().toISOString()})` });
  }
  if (problems.entries) {
    const { shown, entries } = problems;
    const more = entries > shown.length ? ` (${entries} invalid entries in all; the first ${shown.length} problems are listed)` : '';
    const summary = shown.slice(0, 20).map((p) => `${p.field} ${p.message}`).join('; ');
    throw new HttpProblem(400, 'invalid-snapshot', `the snapshot is not valid; nothing was stored${more}: ${summary}`, shown, entries > shown.length ? entries : undefined);
  }
  const valid = snapshot as Snapshot;
  const state: RunState = { resources: valid.resources, findings: valid.findings, permissions: valid.lake_formation.permissions, settings: valid.settings ?? [] };
  return { ...state, observedAt: valid.observed_at, coverage: snapshotCoverage(state, valid.coverage ?? []) };
}

/** A checked snapshot ready to store: its items as INSERT parameters (see itemChunks), counts, coverage. */
export interface PreparedSnapshotData {
  chunks: string[];
  counts: { resources: number; findings: number; permissions: number; settings: number };
  observedAt?: string;
  coverage: CoverageRow[];
}

/**
 * A snapshot already checked and prepared off the event loop (src/sources/snapshot-import.ts), as
 * the request's `snapshot` field; importSnapshot stores it without looking at it again.
 */
export class PreparedSnapshot {
  constructor(readonly data: PreparedSnapshotData) {}
}

/** Checks a snapshot (parseSnapshot: a 400 listing its problems) and prepares it for storing. */
export async function prepareSnapshot(snapshot: unknown, prefix = 'snapshot'): Promise<PreparedSnapshotData> {
  const state = await parseSnapshot(snapshot, prefix);
  const { chunks } = itemChunks(state);
  return {
    chunks,
    counts: { resources: state.resources.length, findings: state.findings.length, permissions: state.permissions.length, settings: state.settings.length },
    observedAt: state.observedAt,
    coverage: state.coverage,
  };
}
