import { randomUUID } from 'node:crypto';
import cookie from '@fastify/cookie';
import csrfProtection from '@fastify/csrf-protection';
import helmet from 'helmet';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import Fastify, { type FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import type { Knex } from 'knex';
import accessDecisionRoutes from './access/decisions.js';
import grantRoutes from './access/grants/index.js';
import remediationRoutes from './remediation/index.js';
import pendingChangeRoutes, { changeKindsPlugin } from './changes/index.js';
import exceptionRoutes from './exceptions/index.js';
import dataQualityRoutes from './data-quality/index.js';
import { principals } from './access/principals.js';
import { alerts } from './alerts/alerts.js';
import alertRoutes from './alerts/routes.js';
import { AlertService } from './alerts/service.js';
import auditRoutes from './audit/routes.js';
import { ensureFirstAdminKey } from './auth/bootstrap.js';
import authentication from './auth/plugin.js';
import apiKeyRoutes from './auth/routes.js';
import consoleLoginRoutes from './auth/console-login.js';
import consoleRoutes from './console/routes.js';
import overviewRoutes from './console/overview.js';
import roleMappingRoutes from './auth/role-mappings.js';
import { assets, registerColumnRoutes } from './catalog/assets.js';
import { classifications } from './catalog/classifications.js';
import { dataQualityRules } from './catalog/data-quality-rules.js';
import { domains } from './catalog/domains.js';
import { maskingRules, registerMaskingPreview } from './catalog/masking-rules.js';
import { retentionPolicies } from './catalog/retention-policies.js';
import { loadConfig, type Config } from './config.js';
import { loadShippedCatalog, unknownControls, type Catalog } from './controls/catalog.js';
import { complianceRecords } from './controls/compliance-records.js';
import controlRoutes, { controlViews } from './controls/routes.js';
import evidenceRoutes from './evidence/routes.js';
import { configuredBodyStore, useBodyStore } from './evidence/body-store.js';
import { loadSigningKey, type SigningKey } from './evidence/signing.js';
import integrityRoutes, { configuredCheckpointStore, writeCheckpoint, type CheckpointStore } from './integrity/index.js';
import { openDatabase, prepareDatabase, type Database } from './db/database.js';
import { loadDemoData } from './demo/load.js';
import { DEMO_DQ_PASSWORD_ENV, demoDataQualityPassword } from './demo/wealth-data.js';
import healthRoutes from './health/routes.js';
import { registerCrudRoutes } from './http/crud.js';
import errorHandling from './http/errors.js';
import { validatorCompiler } from './http/validation.js';
import { serializerCompiler } from './http/serialization.js';
import { documentRoute, TAGS } from './http/openapi.js';
import { registerJsonBodyParser } from './http/json-body.js';
import { createEvaluation, runEvaluation } from './evaluation/evaluate.js';
import evaluationRoutes from './evaluation/routes.js';
import { wealthEstate } from './demo/wealth-estate.js';
import { Workflows } from './jobs/workflows.js';
import { importSnapshot } from './sources/collections.js';
import sourceRoutes from './sources/routes.js';
import organizationRoutes from './sources/organizations.js';
import policyRoutes from './policy/routes.js';
import decisionReplayRoutes from './policy/replay-routes.js';
import { PolicyService, shippedBundlePath } from './policy/service.js';
import { logRedactPaths, requestSerializer } from './logging.js';

declare module 'fastify' {
  interface FastifyInstance {
    db: Knex;
    config: Config;
    policy: PolicyService;
    jobs: Workflows;
    alerts: AlertService;
  }
}

export interface BuildAppOptions {
  /** Overrides of the environment's configuration (tests pass theirs here). */
  config?: Partial<Config>;
  /** Load the demo catalog when the catalog has no assets. */
  demo?: boolean;
  /** Where the generated first admin key is announced; stderr by default. */
  announce?: (message: string) => void;
  /** Run background jobs in this instance (default true; false for an API-only instance). */
  workers?: boolean;
  /** How often each instance re-checks the active bundle besides LISTEN/NOTIFY (default 5 s). */
  policyPollMs?: number;
  /** The policy bundle imported on first start; default policies/bundle.tar.gz, null for none. */
  shippedBundle?: string | null;
  /** The built console served at / (default dist/web). */
  consoleRoot?: string;
  /** Where logs go instead of stdout (tests read them to prove redaction). */
  logStream?: { write(line: string): void };
}

/** The service version, in the OpenAPI document and in evidence exports. */
export const VERSION = '0.1.0';

const databasePlugin = fp(
  async (app: FastifyInstance, { database }: { database: Database }) => {
    app.decorate('db', database.knex);
    app.addHook('onClose', async () => database.close());
  },
  { name: 'database' },
);

const policyPlugin = fp(
  async (app: FastifyInstance, options: { databaseUrl: string; shippedBundle?: string; pollMs?: number; catalog: Catalog }) => {
    const service = new PolicyService(app.db, app.log, (rules) => {
      const unknown = unknownControls(options.catalog, rules);
      return unknown.length ? `rules name controls that are not in the control catalog: ${unknown.join(', ')}` : undefined;
    }, { threads: app.config.policyWorkers, budgetMs: app.config.policyBudgetMs });
    try {
      await service.start(options);
    } catch (error) {
      await service.stop(); // its worker threads would keep the process alive
      throw error;
    }
    app.decorate('policy', service);
    // Registered after the database plugin, so it runs before the database closes.
    app.addHook('onClose', async () => service.stop());
  },
  { name: 'policy', dependencies: ['database'] },
);

const jobsPlugin = fp(
  async (app: FastifyInstance, options: { databaseUrl: string; work: boolean; catalog: Catalog; checkpoints: CheckpointStore; signingKey: SigningKey }) => {
    // Alerts read control statuses as GET /v1/controls computes them.
    const alertService = new AlertService(app.db, app.log, app.config, () => controlViews(app, options.catalog, app.policy.rules()));
    app.decorate('alerts', alertService);
    const workflows = new Workflows(app.db, app.policy, app.log, {
      alerts: alertService,
      databaseUrl: options.databaseUrl,
      awsEndpointUrl: app.config.awsEndpointUrl,
      awsMaxAttempts: app.config.awsMaxAttempts,
      awsRequestsPerSecond: app.config.awsRequestsPerSecond,
      collectionConcurrency: app.config.collectionConcurrency,
      collectionUnitTimeoutSeconds: app.config.collectionUnitTimeoutSeconds,
      schedule: app.config.collectionSchedule,
      decisionLogRetentionDays: app.config.decisionLogRetentionDays,
      work: options.work,
      autoRemediate: app.config.autoRemediate,
      remediationStepDelayMs: app.config.remediationStepDelayMs,
      checkpoint: { cron: app.config.checkpointSchedule, write: () => writeCheckpoint(app.db, options.checkpoints, options.signingKey) },
    });
    await workflows.start();
    app.decorate('jobs', workflows);
    app.addHook('onClose', async () => workflows.stop());
  },
  { name: 'jobs', dependencies: ['database', 'policy'] },
);

/** The demo estate as a first collection run, evaluated at once so the demo opens with findings. */
async function loadDemoEstate(app: FastifyInstance) {
  if (await app.db('collection_runs').first('id')) return;
  const context = { actor: 'system:demo', actorKeyId: null, role: 'system' };
  const run = await importSnapshot(app.db, wealthEstate, { trigger: 'demo', context });
  const evaluation = await createEvaluation(app.db, { runId: run.id, trigger: 'demo', requestedBy: context.actor });
  const done = await runEvaluation(app.db, app.policy, evaluation.id);
  app.log.info({ run: run.id, evaluation: done.id, counts: done.counts }, 'demo estate collected and evaluated');
}

/**
 * Builds the Custos service: external plugins (config, database, docs), then app plugins (errors,
 * authentication), then the routes of each capability. Opens the database and migrates it first,
 * so a returned app is ready to listen.
 */
export async function buildApp(options: BuildAppOptions = {}): Promise<FastifyInstance> {
  const config: Config = { ...loadConfig(), ...options.config };
  // The SOC 2 control catalog is data; an invalid one stops start-up with the reason.
  const catalog = loadShippedCatalog();
  // The key that signs evidence export manifests; a bad CUSTOS_SIGNING_KEY stops start-up.
  const signingKey = loadSigningKey({ signingKey: config.signingKey, dataDir: config.dataDir });

  const app = Fastify({
    logger: {
      level: config.logLevel,
      redact: { paths: logRedactPaths, censor: '[redacted]' },
      serializers: { req: requestSerializer },
      ...(options.logStream ? { stream: options.logStream } : {}),
    },
    bodyLimit: config.bodyLimit,
    // Start-up work (pg-boss creating its schema, loading the policy bundle) can take more than
    // Fastify's default 10 s per plugin on a busy 2-core machine; a slow start is not a failed one.
    pluginTimeout: 120_000,
    // Custos's own id for every request; the client's X-Request-Id is kept apart (src/http/request-id.ts).
    requestIdHeader: false,
    genReqId: () => randomUUID(),
    routerOptions: { ignoreTrailingSlash: true },
  });
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  // The API speaks JSON only: a text body gets 415, not an attempt to validate a string.
  app.removeContentTypeParser('text/plain');
  // JSON bodies nested deeper than 64 levels or holding NUL are refused (400) before anything stores them.
  registerJsonBodyParser(app);
  app.decorate('config', config);
  // Security headers on every response, errors included (helmet's defaults: nosniff, a CSP that
  // allows only Custos's own scripts, no referrer, ...). No page of Custos may be framed. HSTS (and
  // upgrading the console's requests to https) only when Custos is reached over TLS, as
  // CUSTOS_PUBLIC_URL says: over plain http it would lock browsers out.
  // The headers are the same for every response, so helmet's middleware is built once, here:
  // @fastify/helmet built it again on every request (the access decision profile in
  // docs/ARCHITECTURE.md showed it as 5-7% of a decision's event-loop time).
  const behindTls = config.publicUrl?.startsWith('https://') ?? false;
  const securityHeaders = helmet({
    contentSecurityPolicy: { useDefaults: true, directives: { 'frame-ancestors': ["'none'"], 'upgrade-insecure-requests': behindTls ? [] : null } },
    frameguard: { action: 'deny' },
    hsts: behindTls ? { maxAge: 31_536_000 } : false,
  });
  app.addHook('onRequest', (request, reply, done) => securityHeaders(request.raw, reply.raw, (error?: unknown) => done(error as Error | undefined)));
  app.addHook('onSend', async (request, reply) => {
    reply.header('x-request-id', request.id);
    // API answers hold governance data and keys: never kept by a browser or a proxy. The console's
    // hashed assets keep their long caching (src/console/routes.ts).
    if (/^\/v1([/?]|$)/.test(request.url)) reply.header('cache-control', 'no-store');
  });

  const database = await openDatabase({
    databaseUrl: config.databaseUrl,
    migrationDatabaseUrl: config.migrationDatabaseUrl,
    dataDir: config.dataDir,
    pgRuntimeDir: config.pgRuntimeDir,
    onEmbeddedLog: (line) => app.log.debug({ postgres: line.trim() }, 'embedded postgres'),
  });
  try {
    const applied = await prepareDatabase(database);
    if (applied.length > 0) app.log.info({ migrations: applied }, 'database migrated');
    await ensureFirstAdminKey(database.knex, {
      adminKey: config.adminKey,
      dataDir: config.dataDir,
      announce: options.announce ?? ((message) => process.stderr.write(message + '\n')),
    });
    if (options.demo) {
      // The demo's data quality connection (npm run demo:data) reads this variable.
      process.env[DEMO_DQ_PASSWORD_ENV] ??= await demoDataQualityPassword(config.dataDir);
      const loaded = await loadDemoData(database.knex, { onlyIfEmpty: true });
      app.log.info({ loaded }, 'demo data');
    }
  } catch (error) {
    await database.close();
    throw error;
  }

  const store = configuredBodyStore(config);
  if (store) {
    useBodyStore(database.knex, store);
    app.log.info({ ...store.describe(), object_lock: await store.objectLock() }, 'evidence bodies are stored in S3');
  }

  // External plugins.
  await app.register(databasePlugin, { database });
  await app.register(swagger, {
    openapi: {
      openapi: '3.0.3',
      info: {
        title: 'Custos',
        version: VERSION,
        description: 'Governance and compliance control plane: metadata repository, policies, controls and evidence.',
      },
      servers: [{ url: '/', description: 'the Custos instance serving this document' }],
      tags: TAGS,
      components: { securitySchemes: { apiKey: { type: 'http', scheme: 'bearer', description: 'Custos API key' } } },
      security: [{ apiKey: [] }],
    },
    transform: documentRoute as never,
  });
  // The docs describe the API and hold no data: readable without a key.
  app.addHook('onRoute', (route) => {
    if (route.url.startsWith('/docs')) route.config = { ...route.config, public: true };
  });
  await app.register(swaggerUi, { routePrefix: '/docs', uiConfig: { docExpansion: 'list' } });

  // App plugins. Console sessions ride on a cookie; their CSRF secret is kept in the session row
  // (request.session, read as @fastify/session's would be) and the token comes in x-csrf-token.
  await app.register(errorHandling);
  await app.register(cookie);
  await app.register(csrfProtection, {
    sessionPlugin: '@fastify/session',
    sessionKey: 'csrf_secret',
    getToken: (request) => {
      const token = request.headers['x-csrf-token'];
      return typeof token === 'string' ? token : undefined;
    },
  });
  await app.register(authentication);
  await app.register(changeKindsPlugin);
  await app.register(policyPlugin, {
    databaseUrl: database.url,
    shippedBundle: options.shippedBundle === null ? undefined : (options.shippedBundle ?? shippedBundlePath()),
    pollMs: options.policyPollMs,
    catalog,
  });
  const checkpoints = configuredCheckpointStore(config);
  await app.register(jobsPlugin, { databaseUrl: database.url, work: options.workers ?? true, catalog, checkpoints, signingKey });
  if (options.demo) await loadDemoEstate(app);

  // Routes, beside their capability.
  await app.register(healthRoutes);
  await app.register(apiKeyRoutes);
  const demoLink = Boolean(options.demo) && !config.oidc;
  await app.register(consoleLoginRoutes, { demoLink });
  await app.register(roleMappingRoutes);
  await app.register(consoleRoutes, { root: options.consoleRoot });
  await app.register(overviewRoutes, { catalog });
  await app.register(auditRoutes);
  await app.register(policyRoutes);
  await app.register(decisionReplayRoutes);
  await app.register(sourceRoutes);
  await app.register(organizationRoutes, { endpoint: app.config.awsEndpointUrl, maxAttempts: app.config.awsMaxAttempts });
  await app.register(evaluationRoutes);
  await app.register(grantRoutes);
  await app.register(remediationRoutes);
  await app.register(exceptionRoutes);
  await app.register(dataQualityRoutes);
  await app.register(pendingChangeRoutes);
  await app.register(integrityRoutes, { store: checkpoints, signingKey });
  await app.register(accessDecisionRoutes);
  await app.register(controlRoutes, { catalog });
  await app.register(evidenceRoutes, { catalog, signingKey, version: VERSION });
  await app.register(alertRoutes, { service: app.alerts });
  await app.register(async (scope) => {
    for (const resource of [classifications, domains, maskingRules, retentionPolicies, assets, dataQualityRules, complianceRecords, alerts, principals]) {
      registerCrudRoutes(scope, resource as never);
    }
    registerColumnRoutes(scope);
    registerMaskingPreview(scope);
  });

  return app;
}
