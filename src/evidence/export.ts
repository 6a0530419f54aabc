import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { once } from 'node:events';
import { Readable } from 'node:stream';
import type { Knex } from 'knex';
import { ZipFile } from 'yazl';
import type { Catalog, Control } from '../controls/catalog.js';
import { controlTimelines, coverageOf, type Coverage, type Period, type TimelinePoint } from '../controls/timeline.js';
import { standingAttestations, withFiles, type AttestationRow } from '../controls/attestations.js';
import { iso } from '../db/timestamps.js';
import { statusOf, type Attested } from '../controls/status.js';
import type { RuleMetadata } from '../policy/engine.js';
import type { ExceptionRow } from '../exceptions/store.js';
import { withBodies } from './body-store.js';
import { canonicalJson, GENESIS, itemHash, sha256 } from './chain.js';
import { assessmentResults, type OscalInput } from './oscal.js';
import { signBytes, type SigningKey } from './signing.js';
import { summaryHtml, type SummaryControl } from './summary-html.js';

export const EXPORT_FORMAT = 'custos-evidence-export/1';

export interface ExportRequest {
  id: string;
  period: Period;
  controls: Control[];
  generatedAt: Date;
  generatedBy: string;
}

export interface ExportContext {
  db: Knex;
  catalog: Catalog;
  rules: RuleMetadata[];
  signingKey: SigningKey;
  version: string;
}

interface ManifestFile {
  path: string;
  sha256: string;
  bytes: number;
}

const PAGE = 500;

/**
 * CSV field quoting (RFC 4180). A field starting with =, +, - or @ (or their full-width forms), a
 * tab or a carriage return is prefixed with ' so spreadsheets do not run it as a formula (OWASP
 * CSV injection: some spreadsheets skip leading tab and CR before reading a formula).
 */
export function csvField(value: unknown): string {
  let text = value === null || value === undefined ? '' : value instanceof Date ? value.toISOString() : String(value);
  if (/^[=+\-@\t\r\uFF1D\uFF0B\uFF0D\uFF20]/.test(text)) text = `'${text}`;
  return /[",\n\r]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}
const csvRow = (values: unknown[]) => values.map(csvField).join(',') + '\n';


interface ItemRow {
  seq: string;
  id: string;
  control_id: string;
  kind: string;
  source_id: string;
  collected_at: Date | string;
  bundle_revision: string | null;
  body: unknown;
  body_store: string;
  body_sha256: string;
  prev_hash: string;
  hash: string;
  received_at: Date | string | null;
}

/** Most late items a manifest lists one by one (all are counted, and flagged in evidence.json/csv). */
const MAX_LATE_LISTED = 100;

/**
 * Evidence items in chain order, a page at a time (never the whole period in memory): those of the
 * period (by collected_at), or with `segment` every item from its first to its last seq.
 */
async function* itemsOf(db: Knex, period: Period, lastSeq: number, filter: { control?: string; bodies: boolean; segment?: { first: number; last: number } }): AsyncGenerator<ItemRow> {
  let after = filter.segment ? filter.segment.first - 1 : 0;
  const last = filter.segment ? filter.segment.last : lastSeq;
  for (;;) {
    const query = db('evidence_items')
      .select(filter.bodies ? '*' : ['seq', 'id', 'control_id', 'kind', 'source_id', 'collected_at', 'bundle_revision', 'body_sha256', 'prev_hash', 'hash', 'received_at'])
      .where('seq', '>', after)
      .where('seq', '<=', last)
      .orderBy('seq')
      .limit(PAGE);
    if (!filter.segment) query.where('collected_at', '>=', period.from).where('collected_at', '<', period.to);
    if (filter.control) query.where({ control_id: filter.control });
    const rows: ItemRow[] = filter.bodies ? await withBodies(db, await query) : await query;
    if (rows.length === 0) return;
    for (const row of rows) yield row;
    after = Number(rows.at(-1)!.seq);
  }
}

/**
 * Whether an item reached Custos after the period ended (its period end is exclusive): its
 * collected_at is the source's word (a file snapshot's observed_at), so an import made later can
 * date its evidence back into a period already audited. null: received before migration 024, unknown.
 */
export function receivedAfter(row: { received_at: Date | string | null | undefined }, period: Period): boolean | null {
  const received = iso(row.received_at ?? null);
  return received ? received >= new Date(period.to).toISOString() : null;
}

const itemView = (row: ItemRow, period: Period) => ({
  seq: Number(row.seq),
  id: row.id,
  control_id: row.control_id,
  kind: row.kind,
  source_id: row.source_id,
  collected_at: iso(row.collected_at),
  received_at: iso(row.received_at ?? null),
  received_after_period: receivedAfter(row, period),
  bundle_revision: row.bundle_revision,
  body_sha256: row.body_sha256,
  prev_hash: row.prev_hash,
  hash: row.hash,
});

const ITEM_CSV_HEADER = ['seq', 'id', 'control_id', 'kind', 'source_id', 'collected_at', 'bundle_revision', 'status', 'body_sha256', 'prev_hash', 'hash', 'received_at', 'received_after_period'];
/** The fields of chain.jsonl's objects and chain.csv's columns (read by name, so exports without received_at still verify). */
export const CHAIN_CSV_HEADER = ['seq', 'id', 'control_id', 'kind', 'source_id', 'collected_at', 'bundle_revision', 'body_sha256', 'prev_hash', 'hash', 'received_at'];

/**
 * The auditor's export of a period as a zip, streamed: every file is produced lazily, in order, and
 * hashed as it is written; `manifest.json` (all files with SHA-256, the chain, the period, the bundle
 * revisions) comes last, then its Ed25519 signature and a `SHA256SUMS` for `sha256sum -c`.
 * Items are bounded by the chain head read at the start, so the export is one consistent cut.
 */
export async function evidenceExport(context: ExportContext, request: ExportRequest): Promise<Readable> {
  const { db, catalog, rules, signingKey } = context;
  const { period, controls } = request;
  const head: { seq: string; hash: string } | undefined = await db('evidence_items').select('seq', 'hash').orderBy('seq', 'desc').first();
  const lastSeq = head ? Number(head.seq) : 0;
  const timelines = await controlTimelines(db, controls, rules, period);
  const coverage = new Map(controls.map((c) => [c.id, coverageOf(c, timelines.get(c.id)!, period, request.generatedAt)]));

  const files: ManifestFile[] = [];
  // The chain segment from the period's first item to its last: every item between them is in
  // chain.csv (those observed outside the period too, without their bodies), so each link re-checks.
  const bounds = (await db('evidence_items')
    .min('seq as first')
    .max('seq as last')
    .where('seq', '<=', lastSeq)
    .where('collected_at', '>=', period.from)
    .where('collected_at', '<', period.to)
    .first()) as { first: string | null; last: string | null };
  const segment = bounds.first === null ? undefined : { first: Number(bounds.first), last: Number(bounds.last) };
  const chain = {
    items_in_period: 0,
    items_in_chain_csv: 0,
    first_seq: null as number | null,
    last_seq: null as number | null,
    hashes_ok: true,
    links_ok: true,
    bodies_ok: true,
    problems: [] as string[],
  };
  const problem = (text: string) => {
    if (chain.problems.length < 100) chain.problems.push(text);
  };
  // Items of the period that Custos received after the period ended: not an integrity failure, but
  // evidence an auditor must not take as contemporaneous (a back-dated import), so it is flagged.
  const late = {
    received_after_period_end: 0,
    received_at_unknown: 0,
    items: [] as Array<{ seq: number; id: string; control_id: string; kind: string; source_id: string; collected_at: string; received_at: string }>,
  };
  const counts = new Map<string, number>();
  const bundleRevisions = new Set<string>();
  for (const points of timelines.values()) for (const p of points) bundleRevisions.add(p.bundle_revision);

  const spoolDir = await mkdtemp(path.join(tmpdir(), 'custos-export-'));
  const zip = new ZipFile();
  const options = { mtime: request.generatedAt, compress: true };
  /** Adds a file whose content is produced when the zip reaches it; records its SHA-256 and size. */
  const add = (path: string, content: () => AsyncIterable<string | Buffer> | Iterable<string | Buffer>) => {
    zip.addReadStream(
      Readable.from(
        (async function* () {
          const hash = createHash('sha256');
          let bytes = 0;
          for await (const chunk of content()) {
            const buffer = typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : chunk;
            if (buffer.length === 0) continue;
            hash.update(buffer);
            bytes += buffer.length;
            yield buffer;
          }
          files.push({ path, sha256: hash.digest('hex'), bytes });
        })(),
      ),
      path,
      options,
    );
  };
  const json = (value: unknown) => [JSON.stringify(value, null, 2) + '\n'];

  add('README.txt', () => [readme(request, signingKey)]);

  // The chain across all controls in the period, without bodies: links and hashes are checked here,
  // and re-checked offline from chain.jsonl, one JSON object per item holding the hashed fields as
  // they are (evidence:verify reads it). chain.csv is the same table for people: spreadsheet-safe,
  // so a field starting with = + - @ is prefixed with ' and no longer the hashed value. One read: the
  // CSV rows are spooled while chain.jsonl streams, and chain.csv streams the spool next.
  const chainSpool = path.join(spoolDir, 'chain.csv');
  add('chain.jsonl', async function* () {
    if (!segment) return;
    const csv = createWriteStream(chainSpool);
    try {
      yield* chainItems(async (values) => {
        if (!csv.write(csvRow(values))) await once(csv, 'drain');
      });
    } finally {
      await new Promise((resolve) => csv.end(resolve));
    }
  });
  add('chain.csv', async function* () {
    yield csvRow(CHAIN_CSV_HEADER);
    if (!segment) return;
    yield* createReadStream(chainSpool);
    await rm(chainSpool, { force: true });
  });
  async function* chainItems(spool: (values: unknown[]) => Promise<void>) {
    if (!segment) return;
    let prev: { seq: number; hash: string } | undefined;
    for await (const row of itemsOf(db, period, lastSeq, { bodies: false, segment })) {
      const seq = Number(row.seq);
      const at = iso(row.collected_at)!;
      const received = iso(row.received_at ?? null);
      chain.items_in_chain_csv++;
      if (at >= new Date(period.from).toISOString() && at < new Date(period.to).toISOString()) {
        chain.items_in_period++;
        const after = receivedAfter(row, period);
        if (after === null) late.received_at_unknown++;
        else if (after) {
          late.received_after_period_end++;
          if (late.items.length < MAX_LATE_LISTED) late.items.push({ seq, id: row.id, control_id: row.control_id, kind: row.kind, source_id: row.source_id, collected_at: at, received_at: received! });
        }
      }
      chain.first_seq ??= seq;
      chain.last_seq = seq;
      if (row.bundle_revision) bundleRevisions.add(row.bundle_revision);
      const fields = { ...row, collected_at: at, received_at: received };
      if (itemHash(row.prev_hash, fields) !== row.hash) {
        chain.hashes_ok = false;
        problem(`item ${seq}: its hash does not match its fields`);
      }
      // Any gap is an integrity failure: a missing seq or a broken link is a deleted or altered item.
      if (prev === undefined ? seq !== segment.first : seq !== prev.seq + 1) {
        chain.links_ok = false;
        problem(`seq ${prev ? prev.seq + 1 : segment.first} is missing before item ${seq}: an item was deleted`);
      } else if (prev !== undefined && row.prev_hash !== prev.hash) {
        chain.links_ok = false;
        problem(`item ${seq}: its previous-hash link does not match item ${prev.seq}`);
      }
      prev = { seq, hash: row.hash };
      const values = [seq, row.id, row.control_id, row.kind, row.source_id, fields.collected_at, row.bundle_revision, row.body_sha256, row.prev_hash, row.hash, received];
      await spool(values);
      yield JSON.stringify(Object.fromEntries(CHAIN_CSV_HEADER.map((name, i) => [name, values[i] ?? null]))) + '\n';
    }
  }

  for (const control of controls) {
    const dir = `controls/${control.id}`;
    // One read of the control's items: evidence.json streams out while the CSV rows are spooled to
    // a temporary file, which evidence.csv then streams (disk, not memory, holds the second form).
    const csvSpool = path.join(spoolDir, `${control.id}.csv`);
    add(`${dir}/evidence.json`, async function* () {
      let n = 0;
      const csv = createWriteStream(csvSpool);
      try {
        yield '[';
        for await (const row of itemsOf(db, period, lastSeq, { control: control.id, bodies: true })) {
          if (row.body === null || sha256(canonicalJson(row.body)) !== row.body_sha256) {
            chain.bodies_ok = false;
            problem(`item ${row.seq}: its body is missing or does not match its SHA-256`);
          }
          const v = itemView(row, period);
          const status = (row.body as { status?: string } | null)?.status ?? '';
          if (!csv.write(csvRow([v.seq, v.id, v.control_id, v.kind, v.source_id, v.collected_at, v.bundle_revision, status, v.body_sha256, v.prev_hash, v.hash, v.received_at, v.received_after_period]))) await once(csv, 'drain');
          yield `${n++ ? ',' : ''}\n${JSON.stringify({ ...v, body: row.body })}`;
        }
        counts.set(control.id, n);
        yield '\n]\n';
      } finally {
        await new Promise((resolve) => csv.end(resolve));
      }
    });
    add(`${dir}/evidence.csv`, async function* () {
      yield csvRow(ITEM_CSV_HEADER);
      yield* createReadStream(csvSpool);
      await rm(csvSpool, { force: true });
    });
    add(`${dir}/timeline.json`, () => json({ control: control.id, ...period, items: timelines.get(control.id)! }));
    add(`${dir}/coverage.json`, () => json(coverage.get(control.id)!));
  }

  add('status-timeline.csv', function* () {
    yield csvRow(['control_id', 'evaluation_id', 'at', 'bundle_revision', 'run_partial', 'status', 'open_findings', 'excepted_findings', 'reason']);
    for (const control of controls) for (const p of timelines.get(control.id)!) yield csvRow([control.id, p.evaluation_id, p.at, p.bundle_revision, p.run_partial, p.status, p.open_findings, p.excepted_findings, p.reason]);
  });

  const controlIds = controls.map((c) => c.id);
  const findings = await periodFindings(db, period, controlIds);
  add('findings.csv', function* () {
    yield csvRow(['id', 'rule_id', 'severity', 'controls', 'resource_type', 'resource_id', 'account', 'region', 'status', 'first_seen_at', 'last_seen_at', 'resolved_at', 'exception_id', 'exception_expired_at', 'msg']);
    for (const f of findings) yield csvRow([f.id, f.rule_id, f.severity, f.controls.join(' '), f.resource_type, f.resource_id, f.account, f.region, f.status, iso(f.first_seen_at), iso(f.last_seen_at), iso(f.resolved_at), f.exception_id, iso(f.exception_expired_at), f.msg]);
  });

  const exceptions = await periodExceptions(db, period, rules, controlIds);
  add('exceptions.json', () => json(exceptions));

  const attestations = await periodAttestations(db, period, controlIds);
  const standing = await standingAttestations(db, new Date(Math.min(Date.parse(period.to) - 1, request.generatedAt.getTime())));
  add('attestations/attestations.json', () => json(attestations));
  for (const a of attestations) {
    for (const file of a.files) {
      add(`attestations/${a.id}/${file.filename}`, async function* () {
        const row = await db('attestation_files').select('content').where({ id: file.id }).first();
        yield row.content as Buffer;
      });
    }
  }

  const ruleTitle = new Map(rules.map((r) => [r.id, r.title]));
  const summaries = (): SummaryControl[] =>
    controls.map((control) => summarise(control, timelines.get(control.id)!, coverage.get(control.id)!, counts.get(control.id) ?? 0, attestations.filter((a) => a.control_id === control.id).length, standing.get(control.id)));

  add('oscal/assessment-results.json', () => {
    const input: OscalInput = {
      generatedAt: request.generatedAt.toISOString(),
      period,
      tool: { name: 'Custos', version: context.version },
      bundleRevisions: [...bundleRevisions].sort(),
      chainHead: head?.hash ?? GENESIS,
      controls: summaries().map((s) => ({ id: s.id, title: s.title, automation: s.automation, status: s.status, reason: s.reason, reasons: s.reasons, coverage: s.coverage, daysTested: s.days_tested, daysInPeriod: s.days_in_period, evidencePath: `controls/${s.id}/`, evidenceItems: s.evidence_items })),
      findings: findings.map((f) => ({
        id: f.id, ruleId: f.rule_id, ruleTitle: ruleTitle.get(f.rule_id) ?? f.rule_id, severity: f.severity, controls: f.controls, resourceType: f.resource_type, resourceId: f.resource_id,
        account: f.account, region: f.region, msg: f.msg, status: f.status, firstSeenAt: iso(f.first_seen_at)!, lastSeenAt: iso(f.last_seen_at)!, resolvedAt: iso(f.resolved_at), exceptionId: f.exception_id,
      })),
      attestations: attestations.map((a) => ({ id: a.id, controlId: a.control_id, statement: a.statement, attestedBy: a.attested_by, attestedAt: a.attested_at })),
      exceptions: exceptions.map((e) => ({ id: e.id, ruleId: e.rule_id, findingId: e.finding_id, status: e.status, justification: e.justification, compensatingControl: e.compensating_control, expiresAt: e.expires_at, requestedBy: e.requested_by, decidedBy: e.decided_by })),
    };
    return json(assessmentResults(input));
  });

  add('summary.html', () => [
    summaryHtml({ request, framework: catalog.framework, controls: summaries(), findings: findings.filter((f) => f.status === 'open'), exceptions, attestations, chain, late, head: head?.hash ?? GENESIS, keyId: signingKey.keyId }),
  ]);
  add('public-key.pem', () => [signingKey.publicKeyPem]);

  // The manifest is built when the zip reaches it, after every file above has been written and hashed.
  let manifestBytes: Buffer | undefined;
  add('manifest.json', () => {
    const manifest = {
      format: EXPORT_FORMAT,
      export_id: request.id,
      generated_at: request.generatedAt.toISOString(),
      generated_by: request.generatedBy,
      framework: catalog.framework,
      period,
      controls: controlIds,
      bundle_revisions: [...bundleRevisions].sort(),
      chain: {
        // ok is false on any integrity failure: an item whose hash or body does not match, a missing
        // seq, a broken link; problems says which.
        ok: chain.hashes_ok && chain.links_ok && chain.bodies_ok && chain.problems.length === 0,
        head: { seq: lastSeq, hash: head?.hash ?? GENESIS },
        items_in_period: chain.items_in_period,
        items_in_chain_csv: chain.items_in_chain_csv,
        first_seq: chain.first_seq,
        last_seq: chain.last_seq,
        item_hashes_ok: chain.hashes_ok,
        links_ok: chain.links_ok,
        bodies_ok: chain.bodies_ok,
        problems: chain.problems,
      },
      // Not an integrity failure (chain.ok says nothing of it) but a warning the verifier repeats:
      // evidence observed in the period that Custos received only after the period ended.
      received_after_period: {
        count: late.received_after_period_end,
        items: late.items,
        listed: late.items.length,
        received_at_unknown: late.received_at_unknown,
        note: 'items of the period (by collected_at, when the source says the state was observed) that Custos received (received_at, its own clock, covered by the item hash) at or after the period end: back-dated or late evidence, not contemporaneous. received_at_unknown counts items chained before Custos recorded receipt.',
      },
      evidence_items_per_control: Object.fromEntries(controlIds.map((id) => [id, counts.get(id) ?? 0])),
      signature: { algorithm: 'Ed25519', key_id: signingKey.keyId, file: 'manifest.sig', public_key: 'public-key.pem (compare its key id with GET /v1/evidence/public-key)' },
      files: [...files],
    };
    manifestBytes = Buffer.from(JSON.stringify(manifest, null, 2) + '\n', 'utf8');
    return [manifestBytes];
  });
  zip.addReadStream(
    Readable.from((async function* () {
      yield signBytes(signingKey, manifestBytes!);
    })()),
    'manifest.sig',
    options,
  );
  add('SHA256SUMS', () => [files.map((f) => `${f.sha256}  ${f.path}\n`).join('')]);
  zip.end();
  const output = zip.outputStream as Readable;
  // The spool goes with the export, however it ends (finished, failed, or the client went away).
  const cleanUp = () => void rm(spoolDir, { recursive: true, force: true });
  output.once('end', cleanUp).once('error', cleanUp).once('close', cleanUp);
  return output;
}

function summarise(control: Control, points: TimelinePoint[], coverage: Coverage, evidenceItems: number, attestations: number, attested: Attested | undefined): SummaryControl {
  const last = points.at(-1);
  const tested = points.filter((p) => p.status === 'passing' || p.status === 'failing');
  // A manual control's status is its attestation standing at the end of the period, if any.
  const manual = statusOf(control, [], undefined, new Map(), attested);
  const status = control.automation === 'manual' ? manual.status : (last?.status ?? 'not_tested');
  const reason = control.automation === 'manual' ? `${manual.reason}; ${attestations} attestation(s) in the period` : (last?.reason ?? 'no complete evaluation in the period');
  return {
    id: control.id,
    title: control.title,
    automation: control.automation,
    status,
    reason,
    reasons: control.automation === 'manual' ? null : (last?.reasons ?? null),
    coverage: control.automation === 'manual' ? null : (last?.coverage ?? null),
    evaluations: points.length,
    pass_rate: tested.length ? tested.filter((p) => p.status === 'passing').length / tested.length : null,
    days_tested: coverage.days_tested,
    days_in_period: coverage.days_in_period,
    gaps: coverage.gaps.length,
    open_findings_at_end: last?.open_findings ?? 0,
    evidence_items: evidenceItems,
    attestations,
  };
}

export interface PeriodFinding {
  id: string;
  rule_id: string;
  severity: string;
  controls: string[];
  resource_type: string;
  resource_id: string;
  account: string;
  region: string;
  status: 'open' | 'resolved' | 'excepted';
  first_seen_at: Date | string;
  last_seen_at: Date | string;
  resolved_at: Date | string | null;
  exception_id: string | null;
  exception_expired_at: Date | string | null;
  msg: string;
}

/** Findings of the selected controls that existed at some point of the period. */
function periodFindings(db: Knex, period: Period, controlIds: string[]): Promise<PeriodFinding[]> {
  return db('findings')
    .join('finding_sightings', 'finding_sightings.finding_id', 'findings.id')
    .select('id', 'rule_id', 'severity', 'controls', 'resource_type', 'resource_id', 'account', 'region', 'status', 'first_seen_at', 'last_seen_at', 'resolved_at', 'exception_id', 'exception_expired_at', 'msg')
    .where('first_seen_at', '<', period.to)
    .where((q) => q.whereNull('resolved_at').orWhere('resolved_at', '>=', period.from))
    .whereRaw('controls \\?| ?::text[]', [controlIds])
    .orderBy('id');
}

export type PeriodException = Omit<ExceptionRow, 'version' | 'created_at' | 'updated_at'>;

/** Exceptions in force at some point of the period, for rules that test the selected controls. */
async function periodExceptions(db: Knex, period: Period, rules: RuleMetadata[], controlIds: string[]): Promise<PeriodException[]> {
  const ruleIds = rules.filter((r) => r.controls.some((c) => controlIds.includes(c))).map((r) => r.id);
  const rows = await db('exceptions')
    .select('id', 'status', 'finding_id', 'rule_id', 'resource_pattern', 'account', 'region', 'justification', 'compensating_control', 'expires_at', 'requested_by', 'requested_at', 'decided_by', 'decided_at', 'decision_note')
    .whereIn('rule_id', ruleIds)
    .where('requested_at', '<', period.to)
    .where('expires_at', '>=', period.from)
    .orderBy('requested_at');
  return rows.map((r) => ({ ...r, expires_at: iso(r.expires_at)!, requested_at: iso(r.requested_at)!, decided_at: iso(r.decided_at) }));
}

export type PeriodAttestation = Awaited<ReturnType<typeof withFiles>>[number];

/** Attestations made in the period for the selected controls, with their files. */
async function periodAttestations(db: Knex, period: Period, controlIds: string[]): Promise<PeriodAttestation[]> {
  const rows: AttestationRow[] = await db('attestations').whereIn('control_id', controlIds).where('attested_at', '>=', period.from).where('attested_at', '<', period.to).orderBy('attested_at');
  return withFiles(db, rows);
}

function readme(request: ExportRequest, key: SigningKey): string {
  return `Custos evidence export ${request.id}
Period: ${request.period.from} to ${request.period.to} (end exclusive)
Generated: ${request.generatedAt.toISOString()} by ${request.generatedBy}

Verify it offline, in the unzipped folder:

1. The manifest is authentic (Ed25519; key id ${key.keyId}):
   openssl pkeyutl -verify -pubin -inkey public-key.pem -rawin -in manifest.json -sigfile manifest.sig
   Compare public-key.pem with the key Custos publishes (GET /v1/evidence/public-key); do not trust
   a key only because it is in the zip.

2. Every file is the one the manifest lists:
   jq -r '.files[] | "\\(.sha256)  \\(.path)"' manifest.json | sha256sum -c -
   (or: sha256sum -c SHA256SUMS, then check SHA256SUMS against manifest.json)

3. The chain is whole: manifest.json's chain.ok is true (false on a missing seq, a broken link, or
   an item or body that does not match).
   Evidence received late: manifest.json's received_after_period lists the items of the period that
   Custos received (received_at, its own clock) only after the period ended, e.g. a back-dated
   snapshot import; evidence.json/csv flag them (received_after_period). Judge them accordingly.

4. With a checkout of Custos, all of the above plus every chain row and evidence body, with the key
   Custos publishes (never the one in the zip alone):
   npm run evidence:verify -- --export <this zip> --public-key custos.pem
   npm run evidence:verify -- --export <this zip> --expect-fingerprint ${key.keyId}

Contents: controls/<id>/evidence.json|csv (evidence items with bodies), timeline.json (status at each
evaluation), coverage.json (Type II: days tested, gaps); status-timeline.csv; findings.csv;
exceptions.json; attestations/ (statements and files); chain.jsonl (hash chain of the period, one
JSON object per item with the hashed fields as they are) and chain.csv (the same for spreadsheets:
a field starting with = + - @ is prefixed with ', so recompute hashes from chain.jsonl);
oscal/assessment-results.json (NIST OSCAL 1.1); summary.html; manifest.json (+ .sig).
`;
}
