import { v5 as uuidv5 } from 'uuid';
import type { Control as CatalogControl } from '../controls/catalog.js';
import type { Reasons, Status } from '../controls/status.js';

/**
 * The OSCAL `assessment-results` document of an auditor export (NIST OSCAL 1.1.2; validated in the
 * tests against the official schema vendored in evidence/schemas/).
 *
 * Mapping:
 * - `metadata`: title and period, `last-modified` and `version` = generation time, `oscal-version`
 *   1.1.2; props (namespace NS) for the evidence chain head and each policy bundle revision; the
 *   attesters as parties with the role `attester`.
 * - `import-ap`: OSCAL requires a plan; Custos has none as a document (its plan is the SOC 2
 *   catalog and the policy bundles), so the href points to a placeholder back-matter resource.
 * - one `result` for the period (`start`/`end`); Custos itself is the tool component that the
 *   `origins` name; `reviewed-controls` selects the controls by lower-case id (`CC6.1` → `cc6.1`,
 *   the OSCAL catalog convention); the original id is kept in the `control-id` prop.
 * - per control one `observation` (methods: TEST for automated, TEST + EXAMINE for partly
 *   automated, EXAMINE for manual, plus INTERVIEW when attested; `relevant-evidence` = its folder in
 *   the zip with the item count) and one `finding` targeting the control as `objective-id`: only
 *   `passing` is `satisfied`; failing, not_tested and manual are `not-satisfied` with the reason in
 *   the remarks, so missing data is never reported as satisfied.
 * - per Custos finding one `risk`: open → `open`, excepted → `deviation-approved` (the exception's
 *   justification and compensating control as mitigating factor, its expiry as deadline), resolved
 *   → `closed`; its risk log holds first seen and resolution (OSCAL 1.1.2 risks have no remarks).
 * - Custos' own props carry the namespace NS; values are single-line, as OSCAL requires.
 * - attestations → `result.attestations` (statement as prose); exceptions → back-matter resources
 *   that the excepted risks link to.
 * UUIDs are UUIDv5 of stable ids, so the same input always gives the same bytes.
 */

export interface OscalInput {
  generatedAt: string;
  period: { from: string; to: string };
  tool: { name: string; version: string };
  bundleRevisions: string[];
  /** Evidence chain head hash at export time. */
  chainHead: string;
  controls: Array<{
    id: string;
    title: string;
    automation: CatalogControl['automation'];
    status: Status;
    reason: string;
    /** Rule by rule at the end of the period (failing with open counts, not tested with why, passing). */
    reasons?: Reasons | null;
    coverage?: 'complete' | 'partial' | null;
    daysTested: number;
    daysInPeriod: number;
    /** Folder in the zip. */
    evidencePath: string;
    evidenceItems: number;
  }>;
  findings: Array<{
    id: string;
    ruleId: string;
    ruleTitle: string;
    severity: string;
    controls: string[];
    resourceType: string;
    resourceId: string;
    account: string;
    region: string;
    msg: string;
    status: 'open' | 'resolved' | 'excepted';
    firstSeenAt: string;
    lastSeenAt: string;
    resolvedAt: string | null;
    exceptionId: string | null;
  }>;
  attestations: Array<{ id: string; controlId: string; statement: string; attestedBy: string; attestedAt: string }>;
  exceptions: Array<{
    id: string;
    ruleId: string;
    findingId: string | null;
    status: string;
    justification: string;
    compensatingControl: string;
    expiresAt: string;
    requestedBy: string;
    decidedBy: string | null;
  }>;
}

/** The OSCAL release whose schema the document follows. */
export const OSCAL_VERSION = '1.1.2';
/** Namespace of Custos' own props: OSCAL reserves un-namespaced names for its own. */
export const NS = 'urn:custos:oscal';

const UUID_NAMESPACE = uuidv5(NS, uuidv5.URL);
const uid = (...parts: string[]) => uuidv5(JSON.stringify(parts), UUID_NAMESPACE);

type Control = OscalInput['controls'][number];
type Finding = OscalInput['findings'][number];
type Exception = OscalInput['exceptions'][number];
type PropValue = string | number | null | undefined;

/** OSCAL arrays may not be empty: an empty one is left out. */
const nonEmpty = <T>(items: T[]) => (items.length > 0 ? items : undefined);

/** Custos props from name → value(s), in order; OSCAL prop values are single-line and trimmed, so empty ones are left out. */
function props(values: Record<string, PropValue | PropValue[]>) {
  return nonEmpty(
    Object.entries(values).flatMap(([name, value]) =>
      (Array.isArray(value) ? value : [value])
        .map((v) => String(v ?? '').replace(/\s+/g, ' ').trim())
        .filter((text) => text !== '')
        .map((text) => ({ name, ns: NS, value: text })),
    ),
  );
}

function isoTime(value: string, field: string): string {
  const time = new Date(value);
  if (Number.isNaN(time.getTime())) throw new Error(`OSCAL export: ${field} is not a date-time: ${JSON.stringify(value)}`);
  return time.toISOString();
}

/** OSCAL control ids are lower-case tokens (`cc6.1`). */
export function oscalControlId(id: string): string {
  const token = id.toLowerCase().replace(/[^\p{L}\p{N}._-]/gu, '-');
  return /^[\p{L}_]/u.test(token) ? token : `_${token}`;
}

const METHODS: Record<Control['automation'], string[]> = { automated: ['TEST'], partial: ['TEST', 'EXAMINE'], manual: ['EXAMINE'] };
const RISK_STATUS: Record<Finding['status'], string> = { open: 'open', excepted: 'deviation-approved', resolved: 'closed' };

export function assessmentResults(input: OscalInput): Record<string, unknown> {
  const from = isoTime(input.period.from, 'period.from');
  const to = isoTime(input.period.to, 'period.to');
  const generatedAt = isoTime(input.generatedAt, 'generatedAt');
  const collected = generatedAt < to ? generatedAt : to;

  const toolUuid = uid('tool', input.tool.name);
  const toolOrigin = [{ actors: [{ type: 'tool', 'actor-uuid': toolUuid }] }];
  const partyUuid = (name: string) => uid('party', name);
  const observationUuid = (controlId: string) => uid('observation', from, to, controlId);
  const riskUuid = (findingId: string) => uid('risk', findingId);
  const exceptionUuid = (exceptionId: string) => uid('exception', exceptionId);
  const attestationUuid = (attestationId: string) => uid('attestation', attestationId);
  const planUuid = uid('assessment-plan', 'soc2');

  const controlIds = new Set(input.controls.map((c) => c.id));
  const exceptions = new Map(input.exceptions.map((e) => [e.id, e]));
  const attesters = [...new Set(input.attestations.map((a) => a.attestedBy))];

  const observation = (control: Control) => {
    const attestations = input.attestations.filter((a) => a.controlId === control.id);
    const methods = [...METHODS[control.automation], ...(attestations.length > 0 ? ['INTERVIEW'] : [])];
    return {
      uuid: observationUuid(control.id),
      title: `${control.id} ${control.title}`,
      description: `${control.id} is ${statusText(control)} for the period: ${control.reason || 'no reason recorded'}.`,
      props: props({
        'control-id': control.id,
        automation: control.automation,
        'control-status': control.status,
        'days-tested': control.daysTested,
        'days-in-period': control.daysInPeriod,
      }),
      links: nonEmpty(attestations.map((a) => ({ href: `#${attestationUuid(a.id)}`, rel: 'reference', text: `Attestation ${a.id}` }))),
      methods,
      types: ['control-objective'],
      origins: [
        ...toolOrigin,
        ...(attestations.length > 0
          ? [{ actors: [...new Set(attestations.map((a) => a.attestedBy))].map((name) => ({ type: 'party', 'actor-uuid': partyUuid(name), 'role-id': 'attester' })) }]
          : []),
      ],
      'relevant-evidence': [
        {
          href: control.evidencePath ? encodeURI(control.evidencePath) : undefined,
          description: `${control.evidenceItems} evidence item(s) for ${control.id}${control.evidencePath ? ` in the export folder ${control.evidencePath}` : ''}.`,
          props: props({ 'evidence-items': control.evidenceItems }),
        },
      ],
      collected,
    };
  };

  const finding = (control: Control) => {
    const satisfied = control.status === 'passing';
    const risks = input.findings.filter((f) => f.controls.includes(control.id));
    return {
      uuid: uid('finding', from, to, control.id),
      title: `${control.id} ${control.title}`,
      description: control.reason || `${control.id} is ${statusText(control)}.`,
      props: props({
        'control-id': control.id,
        'control-status': control.status,
        coverage: control.coverage ?? undefined,
        'failing-rule': (control.reasons?.failing_rules ?? []).map((r) => `${r.rule_id} (${r.open_findings} open)`),
        'untested-rule': (control.reasons?.untested_rules ?? []).map((r) => `${r.rule_id}: ${r.why}`),
        'passing-rule': control.reasons?.passing_rules ?? [],
      }),
      origins: toolOrigin,
      target: {
        type: 'objective-id',
        'target-id': oscalControlId(control.id),
        status: {
          state: satisfied ? 'satisfied' : 'not-satisfied',
          reason: satisfied ? 'pass' : control.status === 'failing' ? 'fail' : 'other',
          remarks: satisfied ? undefined : notSatisfiedRemark(control),
        },
      },
      'related-observations': [{ 'observation-uuid': observationUuid(control.id) }],
      'related-risks': nonEmpty(risks.map((f) => ({ 'risk-uuid': riskUuid(f.id) }))),
    };
  };

  const risk = (f: Finding) => {
    const exception = f.exceptionId ? exceptions.get(f.exceptionId) : undefined;
    const excepted = f.status === 'excepted';
    const where = `${f.resourceType} ${f.resourceId} (account ${f.account}, region ${f.region})`;
    return {
      uuid: riskUuid(f.id),
      title: `${f.ruleTitle}: ${f.resourceType} ${f.resourceId}`,
      description: f.msg || f.ruleTitle,
      statement: `Rule ${f.ruleId} (severity ${f.severity}) found ${where} non-compliant${f.controls.length ? `, failing ${f.controls.join(', ')}` : ''}.`,
      props: props({
        'finding-id': f.id,
        'rule-id': f.ruleId,
        severity: f.severity,
        'resource-type': f.resourceType,
        'resource-id': f.resourceId,
        account: f.account,
        region: f.region,
        'finding-status': f.status,
        'last-seen': isoTime(f.lastSeenAt, `finding ${f.id} lastSeenAt`),
        'exception-id': f.exceptionId,
        'control-id': f.controls,
      }),
      links: exception ? [{ href: `#${exceptionUuid(exception.id)}`, rel: 'reference', text: `Exception ${exception.id}` }] : undefined,
      status: RISK_STATUS[f.status],
      origins: toolOrigin,
      'mitigating-factors': excepted && exception ? [{ uuid: uid('mitigation', exception.id, f.id), description: exceptionText(exception) }] : undefined,
      deadline: excepted && exception ? isoTime(exception.expiresAt, `exception ${exception.id} expiresAt`) : undefined,
      'risk-log': {
        entries: [
          { uuid: uid('risk-log', f.id, 'first-seen'), title: 'First seen', start: isoTime(f.firstSeenAt, `finding ${f.id} firstSeenAt`), 'status-change': 'open' },
          ...(f.resolvedAt ? [{ uuid: uid('risk-log', f.id, 'resolved'), title: 'Resolved', start: isoTime(f.resolvedAt, `finding ${f.id} resolvedAt`), 'status-change': 'closed' }] : []),
        ],
      },
      'related-observations': nonEmpty(f.controls.filter((c) => controlIds.has(c)).map((c) => ({ 'observation-uuid': observationUuid(c) }))),
    };
  };

  const exceptionResource = (e: Exception) => ({
    uuid: exceptionUuid(e.id),
    title: `Exception ${e.id} (${e.status}) to rule ${e.ruleId}`,
    description: exceptionText(e),
    props: props({
      'exception-id': e.id,
      'rule-id': e.ruleId,
      'finding-id': e.findingId,
      'exception-status': e.status,
      'expires-at': isoTime(e.expiresAt, `exception ${e.id} expiresAt`),
      'requested-by': e.requestedBy,
      'decided-by': e.decidedBy,
    }),
  });

  const attestation = (a: OscalInput['attestations'][number]) => ({
    'responsible-parties': [{ 'role-id': 'attester', 'party-uuids': [partyUuid(a.attestedBy)] }],
    parts: [
      {
        uuid: attestationUuid(a.id),
        name: 'attestation',
        ns: NS,
        props: props({ 'attestation-id': a.id, 'control-id': a.controlId, 'attested-at': isoTime(a.attestedAt, `attestation ${a.id} attestedAt`) }),
        prose: a.statement,
      },
    ],
  });

  const document = {
    'assessment-results': {
      uuid: uid('assessment-results', from, to, generatedAt, input.chainHead),
      metadata: {
        title: `SOC 2 assessment results, ${from} to ${to}`,
        'last-modified': generatedAt,
        version: generatedAt,
        'oscal-version': OSCAL_VERSION,
        props: props({ 'evidence-chain-head': input.chainHead, 'policy-bundle-revision': input.bundleRevisions }),
        roles: attesters.length > 0 ? [{ id: 'attester', title: 'Attester', description: 'Attests that a manual control operated.' }] : undefined,
        parties: nonEmpty(attesters.map((name) => ({ uuid: partyUuid(name), type: 'person', name, remarks: 'Named by the Custos API key that acted.' }))),
      },
      'import-ap': { href: `#${planUuid}`, remarks: 'Custos publishes no separate OSCAL assessment plan; see the referenced back-matter resource.' },
      results: [
        {
          uuid: uid('result', from, to),
          title: `SOC 2 controls, ${from} to ${to}`,
          description: `Control status over the audit period from Custos' automated evaluations of the AWS estate, and attestations for manual controls. Evidence for every control is in its folder of the export; the manifest lists every file's SHA-256.`,
          start: from,
          end: to,
          'local-definitions': {
            components: [
              {
                uuid: toolUuid,
                type: 'software',
                title: input.tool.name,
                description: `${input.tool.name} ${input.tool.version}: evaluates the AWS estate against the active policy bundle and keeps hash-chained evidence.`,
                props: props({ version: input.tool.version }),
                status: { state: 'operational' },
              },
            ],
          },
          'reviewed-controls': {
            'control-selections': [
              input.controls.length > 0
                ? { 'include-controls': input.controls.map((c) => ({ 'control-id': oscalControlId(c.id) })) }
                : { remarks: 'No control was selected for this export.' },
            ],
          },
          attestations: nonEmpty(input.attestations.map(attestation)),
          observations: nonEmpty(input.controls.map(observation)),
          risks: nonEmpty(input.findings.map(risk)),
          findings: nonEmpty(input.controls.map(finding)),
        },
      ],
      'back-matter': {
        resources: [
          {
            uuid: planUuid,
            title: 'Custos SOC 2 assessment plan (placeholder)',
            description: 'The plan is the SOC 2 control catalog shipped with Custos (controls/soc2.json) and the policy bundle revisions named in the metadata; no OSCAL assessment plan document is published.',
          },
          ...input.exceptions.map(exceptionResource),
        ],
      },
    },
  };
  // A JSON round trip drops the optional members left undefined, so the value is exactly what is written.
  return JSON.parse(JSON.stringify(document)) as Record<string, unknown>;
}

const statusText = (control: Control) => control.status.replace('_', ' ');

const exceptionText = (e: Exception) => `Exception ${e.id}, justification: ${e.justification}\n\nCompensating control: ${e.compensatingControl}`;

function notSatisfiedRemark(control: Control): string {
  const why = control.reason || 'no reason recorded';
  if (control.status === 'failing') return `Failing: ${why}`;
  if (control.status === 'not_tested') return `Not tested, so not reported as satisfied: ${why}`;
  return `Manual control, not judged by Custos: ${why}. Attestations for the period are listed with the result.`;
}
