import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyBaseLogger } from 'fastify';
import type { Knex } from 'knex';
import { recordAudit, type AuditContext } from '../audit/repository.js';
import { ACCESS_DATA_CHANNEL, loadAccessData, type AccessData } from '../access/runtime.js';
import { ChangeListener, notifyOnCommit } from '../db/notifications.js';
import { HttpProblem } from '../http/problem.js';
import { InvalidBundleError } from './bundle.js';
import { PolicyEngine, type RuleMetadata } from './engine.js';
import type { Inspection } from './wasm.js';
import { PolicyWorkers, type PolicyWorkerOptions } from './workers.js';
import { activateBundle, activeBundleId, findBundleBySha, getArchive, insertBundle, type BundleRecord } from './repository.js';

export const BUNDLE_CHANNEL = 'custos_policy_bundle';
/** A safety net under LISTEN/NOTIFY: how often each instance re-checks the active bundle. */
const POLL_MS = 5_000;
/** How long an active bundle that failed to load waits before it is tried again (a row repaired in place). */
const RETRY_FAILED_MS = 60_000;

/** The bundle built from rego/ and committed in policies/, found from src/ or dist/src/. */
export function shippedBundlePath(): string | undefined {
  for (let dir = path.dirname(fileURLToPath(import.meta.url)); dir !== path.dirname(dir); dir = path.dirname(dir)) {
    const candidate = path.join(dir, 'policies', 'bundle.tar.gz');
    if (existsSync(candidate)) return candidate;
  }
  return undefined;
}

/**
 * Keeps the active policy bundle compiled and ready, on every instance: the database says which
 * bundle is active; activation notifies all instances, which load it and swap engines. An active
 * bundle that fails to load (corrupt, fails to compile or to answer) unloads the engine: nothing
 * decides under a revision that is no longer active. With no engine, callers fail closed.
 */
export class PolicyService {
  private engine: PolicyEngine | undefined;
  private engineBundleId: string | undefined;
  private listener: ChangeListener | undefined;
  private poll: NodeJS.Timeout | undefined;
  private syncing: Promise<void> = Promise.resolve();
  private accessReload: NodeJS.Timeout | undefined;
  private accessData: AccessData | undefined;
  private accessLoadsStarted = 0;
  private accessLoadApplied = 0;
  lastError: string | undefined;
  /** The active bundle that last failed to load, and when: retried after RETRY_FAILED_MS, or at once when another is activated. */
  private failedBundleId: string | undefined;
  private failedAt = 0;
  accessDataError: string | undefined;
  /** Engines of stored bundles loaded for replay and impact (engineFor), least recently used first. */
  private storedEngines = new Map<string, Promise<PolicyEngine>>();
  /** The last bundle inspected: the shipped one is imported, then loaded as the active one, checked once. */
  private lastInspection: Inspection | undefined;
  /** The threads that run policy code (src/policy/workers.ts); the event loop never does. */
  readonly workers: PolicyWorkers;

  constructor(
    private readonly db: Knex,
    private readonly log: FastifyBaseLogger,
    /** Refuses a bundle whose rules disagree with the control catalog: returns the reason, or nothing. */
    private readonly checkRules: (rules: RuleMetadata[]) => string | undefined = () => undefined,
    workerOptions: PolicyWorkerOptions = {},
  ) {
    this.workers = new PolicyWorkers(workerOptions);
  }

  /** Imports the shipped bundle if new (activating it when nothing is active), then follows the active one. */
  async start(options: { databaseUrl: string; shippedBundle?: string; pollMs?: number }): Promise<void> {
    if (options.shippedBundle) await this.importShipped(options.shippedBundle);
    await this.sync();
    await this.reloadAccessData();
    this.listener = new ChangeListener(
      options.databaseUrl,
      [BUNDLE_CHANNEL, ACCESS_DATA_CHANNEL],
      (channel) => (channel === BUNDLE_CHANNEL ? void this.sync() : this.scheduleAccessReload()),
      () => {
        void this.sync();
        this.scheduleAccessReload();
      },
      this.log,
    );
    await this.listener.start();
    this.poll = setInterval(() => void this.sync(), options.pollMs ?? POLL_MS);
    this.poll.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.poll);
    clearTimeout(this.accessReload);
    await this.listener?.stop();
    await this.syncing;
    await this.workers.close();
  }

  private async importShipped(file: string): Promise<void> {
    const archive = readFileSync(file);
    const bundle = await this.inspect(archive);
    await this.db.transaction(async (trx) => {
      await trx.raw('SELECT pg_advisory_xact_lock(hashtext(?))', ['custos:policy-bundles']);
      if (await findBundleBySha(trx, bundle.sha256)) return;
      const system: AuditContext = { actor: 'system:bootstrap', actorKeyId: null, role: 'system' };
      const record = await this.store(trx, bundle, archive, system);
      if (!(await activeBundleId(trx))) await this.activate(trx, record.id, system);
      else this.log.warn({ revision: bundle.manifest.revision, id: record.id }, 'the shipped policy bundle is new but not active; activate it with POST /v1/policy-bundles/:id/activate');
    });
  }

  /**
   * Reads, compiles and test-evaluates a bundle.tar.gz in a worker thread with time and memory
   * limits (an overrun kills the thread); throws InvalidBundleError naming the problem.
   */
  async inspect(archive: Buffer): Promise<Inspection> {
    const sha256 = createHash('sha256').update(archive).digest('hex');
    if (this.lastInspection?.sha256 === sha256) return this.lastInspection;
    const inspection = await this.workers.inspect(archive);
    this.lastInspection = inspection;
    return inspection;
  }

  /** Stores an inspected bundle whose rules agree with the control catalog; does not activate it. */
  async store(trx: Knex.Transaction, bundle: Inspection, archive: Buffer, context: AuditContext): Promise<BundleRecord> {
    const disagreement = this.checkRules(bundle.rules);
    if (disagreement) throw new InvalidBundleError(disagreement);
    const record = await insertBundle(trx, { bundle, archive, entrypoints: bundle.entrypoints, rules: bundle.rules, uploadedBy: context.actor });
    const { rules, ...summary } = record;
    await recordAudit(trx, context, { action: 'upload', entity: 'policy-bundles', entityId: record.id, newValue: { ...summary, rule_ids: rules.map((r) => r.id) } });
    return record;
  }

  /** Activates a stored bundle and tells every instance, when the transaction commits. */
  async activate(trx: Knex.Transaction, id: string, context: AuditContext): Promise<BundleRecord> {
    const previous = await activeBundleId(trx);
    const record = await activateBundle(trx, id, context.actor);
    await recordAudit(trx, context, { action: 'activate', entity: 'policy-bundles', entityId: id, oldValue: { active_bundle_id: previous ?? null }, newValue: { active_bundle_id: id, revision: record.revision } });
    await notifyOnCommit(trx, BUNDLE_CHANNEL, id);
    return record;
  }

  /** Loads the active bundle if it is not the one in use. Serialised: one sync at a time. */
  sync(): Promise<void> {
    this.syncing = this.syncing.then(() => this.syncOnce()).catch(() => {});
    return this.syncing;
  }

  private async syncOnce(): Promise<void> {
    let id: string | undefined;
    try {
      id = await activeBundleId(this.db);
    } catch (error) {
      // The database cannot say which bundle is active: decisions need it for their log anyway, and fail there.
      this.log.error({ err: error }, 'could not read the active policy bundle');
      return;
    }
    if (!id) {
      // Nothing is active (the database was changed behind the API's back): no engine decides.
      if (this.engine) this.log.error({ revision: this.engine.revision }, 'no policy bundle is active; the engine is unloaded');
      this.unload('no policy bundle is active');
      return;
    }
    if (id === this.engineBundleId) return;
    if (id === this.failedBundleId && Date.now() - this.failedAt < RETRY_FAILED_MS) return;
    try {
      const archive = await getArchive(this.db, id);
      if (!archive) throw new Error('its archive is missing');
      const engine = PolicyEngine.fromInspection(this.workers, await this.inspect(archive));
      if (this.accessData) engine.setRuntimeData(this.accessData);
      this.engine = engine;
      this.engineBundleId = id;
      this.lastError = undefined;
      this.failedBundleId = undefined;
      this.log.info({ revision: engine.revision, id }, 'policy bundle active');
    } catch (error) {
      // Fail closed: the previous engine's revision is no longer the active one, so it must not keep
      // deciding. With no engine, access is denied (naming this reason), evaluations fail and /readyz
      // says not ready, until a bundle that loads is active again.
      const why = error instanceof InvalidBundleError ? error.message : (error as Error).message;
      this.unload(`the active policy bundle ${id} could not be loaded: ${why}`);
      this.failedBundleId = id;
      this.failedAt = Date.now();
      this.log.error({ err: error, id }, 'active policy bundle not loaded; no engine decides until one loads');
    }
  }

  /** Drops the engine: nothing decides until an active bundle loads (callers get 503 or deny with `reason`). */
  private unload(reason: string): void {
    this.engine = undefined;
    this.engineBundleId = undefined;
    this.lastError = reason;
  }

  /**
   * The engine of a stored bundle, with the current catalog, principals and grants: the active
   * engine when it is that bundle, else one loaded from the database and checked in the inspector
   * thread like any activation (the last two are kept, for replay and impact analysis). Undefined
   * when the bundle is not stored; rejects with InvalidBundleError when it no longer loads.
   */
  async engineFor(bundleId: string): Promise<PolicyEngine | undefined> {
    if (this.engine && bundleId === this.engineBundleId) return this.engine;
    const cached = this.storedEngines.get(bundleId);
    if (cached) {
      this.storedEngines.delete(bundleId);
      this.storedEngines.set(bundleId, cached);
      return cached;
    }
    const archive = await getArchive(this.db, bundleId);
    if (!archive) return undefined;
    const loading = this.workers.inspect(archive).then((inspection) => {
      const engine = PolicyEngine.fromInspection(this.workers, inspection);
      if (this.accessData) engine.setRuntimeData(this.accessData);
      return engine;
    });
    this.storedEngines.set(bundleId, loading);
    loading.catch(() => this.storedEngines.delete(bundleId));
    while (this.storedEngines.size > 2) this.storedEngines.delete(this.storedEngines.keys().next().value!);
    return loading;
  }

  /** Coalesces bursts of change notifications into one reload, 50 ms after the first. */
  private scheduleAccessReload() {
    if (this.accessReload) return;
    this.accessReload = setTimeout(() => {
      this.accessReload = undefined;
      void this.reloadAccessData();
    }, 50);
    this.accessReload.unref();
  }

  /** Reloads the catalog, principals and grants into every instance. On failure the previous data stays. */
  async reloadAccessData(): Promise<void> {
    const generation = ++this.accessLoadsStarted;
    try {
      const data = await loadAccessData(this.db);
      // Loads may finish out of order: an older snapshot never replaces a newer one.
      if (generation < this.accessLoadApplied) return;
      this.accessLoadApplied = generation;
      this.accessData = data;
      this.accessDataError = undefined;
      this.engine?.setRuntimeData(data);
      for (const stored of this.storedEngines.values()) void stored.then((engine) => engine.setRuntimeData(data), () => {});
    } catch (error) {
      this.accessDataError = `could not load the access data: ${(error as Error).message}`;
      this.log.error({ err: error }, 'access data not reloaded; keeping the previous data');
    }
  }

  /** How many columns the catalog knows for a table (the work of a check that names none), if it knows the table. */
  tableColumnCount(resource: { store: string; database: string; table: string }): number | undefined {
    const table = this.accessData?.tables[`${resource.store}/${resource.database}/${resource.table}`];
    return table ? Object.keys(table.columns).length : undefined;
  }

  /** True once the catalog, principals and grants are loaded into the engine. */
  get accessReady(): boolean {
    return this.accessData !== undefined && this.engine !== undefined;
  }

  /** The engine to decide with, and the bundle it came from; 503 when there is none (fail closed). */
  current(): { engine: PolicyEngine; bundleId: string } {
    if (!this.engine || !this.engineBundleId) {
      throw new HttpProblem(503, 'policy-engine-unavailable', `no policy bundle is loaded${this.lastError ? `: ${this.lastError}` : ''}`);
    }
    return { engine: this.engine, bundleId: this.engineBundleId };
  }

  /** The active bundle's rules, or none while no bundle is loaded: for reports, which show that as untested. */
  rules(): RuleMetadata[] {
    return this.engine?.rules() ?? [];
  }

  get ready(): boolean {
    return this.engine !== undefined;
  }
}
