import type { FastifyRequest } from 'fastify';
import type { Knex } from 'knex';
import { v7 as uuidv7 } from 'uuid';
import { ACCESS_DATA_CHANNEL } from '../access/runtime.js';
import { recordAudit, type AuditContext } from '../audit/repository.js';
import { auditContext } from '../auth/plugin.js';
import { notifyOnCommit } from '../db/notifications.js';
import { HttpProblem } from '../http/problem.js';
import { requestCatalogEvaluation } from '../evaluation/catalog-requests.js';
import { recordChangeEvidence } from './evidence.js';
import { changeView, CHANGES_ENTITY, type Approvers, type ChangeRow, type ChangeView } from './store.js';

/** The header an admin sends to apply a protection-lowering change alone (break-glass), with the reason. */
export const BREAK_GLASS_HEADER = 'x-break-glass-reason';

/** What a change does to one entity: enough to apply it now or after approval. */
export interface ChangeTarget {
  entityId: string;
  /** The entity's version when the change was made; an approval applies only to that version. */
  baseVersion: number | null;
  payload: unknown;
}

/**
 * A kind of change that may lower protection. `apply` makes the change in the caller's transaction
 * and writes the entity's audit row with `context` (which names the approver, the pending change and
 * any break-glass reason); it refuses with 409 when the entity is no longer at `baseVersion`.
 */
export interface ChangeKind {
  kind: string;
  entity: string;
  apply(trx: Knex.Transaction, target: ChangeTarget, context: AuditContext): Promise<{ result: unknown; afterCommit?: () => Promise<void> }>;
}

/** The kinds of one app instance (their `apply` may use the instance: its policy service, its job queue). */
export class ChangeKinds {
  private readonly kinds = new Map<string, ChangeKind>();
  register(kind: ChangeKind): ChangeKind {
    this.kinds.set(kind.kind, kind);
    return kind;
  }
  get(kind: string): ChangeKind | undefined {
    return this.kinds.get(kind);
  }
}

declare module 'fastify' {
  interface FastifyInstance {
    changeKinds: ChangeKinds;
  }
}

/** What a route found, with the entity locked: the change, and why it lowers protection (none: it applies at once). */
export interface Inspection extends ChangeTarget {
  reasons: string[];
  summary: string;
  approvers: Approvers;
}

export type Outcome = { applied: unknown } | { pending: ChangeView };

/** The break-glass reason of the request: only an admin may give one, and it must say something. */
export function breakGlassOf(request: FastifyRequest): string | undefined {
  const header = request.headers[BREAK_GLASS_HEADER];
  if (header === undefined) return undefined;
  const reason = (Array.isArray(header) ? header.join(', ') : header).trim();
  if (request.actor.role !== 'admin') {
    throw new HttpProblem(403, 'forbidden', `only an admin may break glass (${BREAK_GLASS_HEADER}); a second person approves this change instead`);
  }
  if (reason.length < 10 || reason.length > 1000) {
    throw new HttpProblem(400, 'validation-error', `${BREAK_GLASS_HEADER} must give the reason in 10 to 1000 characters`, [
      { location: 'headers', field: BREAK_GLASS_HEADER, message: 'must give the reason in 10 to 1000 characters' },
    ]);
  }
  return reason;
}

async function insertChange(trx: Knex.Transaction, request: FastifyRequest, kind: ChangeKind, inspection: Inspection, breakGlass: string | undefined): Promise<ChangeRow> {
  const actor = request.actor;
  const [row] = await trx('pending_changes')
    .insert({
      id: uuidv7(),
      kind: kind.kind,
      entity: kind.entity,
      entity_id: inspection.entityId,
      base_version: inspection.baseVersion,
      payload: JSON.stringify(inspection.payload ?? null),
      summary: inspection.summary,
      reasons: JSON.stringify(inspection.reasons),
      status: breakGlass ? 'applied' : 'pending',
      approver_roles: JSON.stringify(inspection.approvers.roles),
      approver_subjects: JSON.stringify(inspection.approvers.subjects),
      proposed_by: actor.name,
      proposer_subject: actor.subject,
      proposer_role: actor.role,
      expires_at: trx.raw('now() + make_interval(hours => ?)', [request.server.config.pendingChangeHours]),
      break_glass_reason: breakGlass ?? null,
      ...(breakGlass ? { decided_by: actor.name, decider_subject: actor.subject, decided_at: trx.fn.now(), decision_note: 'break-glass' } : {}),
    })
    .returning('*');
  return row;
}

const DRY_RUN = Symbol('dry run');

/**
 * Applies the change in a savepoint and rolls it back: a change that would be refused (invalid,
 * conflicting) is refused now with its 4xx, rather than waiting for an approval it could never take.
 * Its audit rows and notifications are rolled back with it.
 */
async function dryRun(trx: Knex.Transaction, kind: ChangeKind, target: ChangeTarget, context: AuditContext): Promise<void> {
  try {
    await trx.transaction(async (savepoint) => {
      await kind.apply(savepoint, target, context);
      throw DRY_RUN;
    });
  } catch (error) {
    if (error !== DRY_RUN) throw error;
  }
}

/**
 * Runs a change that may lower protection. `inspect` locks the entity and says why the change lowers
 * protection; without a reason the change applies at once. Otherwise it becomes a pending change for
 * a second person to approve (202), unless an admin breaks glass: then it applies at once, flagged in
 * the audit log and the evidence. Each path commits with its audit rows in one transaction.
 */
export async function guardedChange(request: FastifyRequest, kind: ChangeKind, inspect: (trx: Knex.Transaction) => Promise<Inspection>): Promise<Outcome> {
  const breakGlass = breakGlassOf(request);
  let afterCommit: (() => Promise<void>) | undefined;
  let catalogChanged = false;
  const outcome = await request.server.db.transaction(async (trx): Promise<Outcome> => {
    const inspection = await inspect(trx);
    const context = auditContext(request);
    await notifyOnCommit(trx, ACCESS_DATA_CHANNEL, kind.entity);
    if (inspection.reasons.length === 0) {
      const applied = await kind.apply(trx, inspection, context);
      afterCommit = applied.afterCommit;
      catalogChanged = await requestCatalogEvaluation(trx, kind.entity);
      return { applied: applied.result };
    }
    const row = await insertChange(trx, request, kind, inspection, breakGlass);
    if (breakGlass) {
      const flagged = { ...context, pendingChangeId: row.id, breakGlassReason: breakGlass };
      const applied = await kind.apply(trx, inspection, flagged);
      await recordAudit(trx, flagged, { action: 'break_glass', entity: CHANGES_ENTITY, entityId: row.id, newValue: changeView(row) });
      await recordChangeEvidence(trx, 'break_glass', row);
      afterCommit = applied.afterCommit;
      catalogChanged = await requestCatalogEvaluation(trx, kind.entity);
      return { applied: applied.result };
    }
    await dryRun(trx, kind, inspection, { ...context, pendingChangeId: row.id });
    const view = changeView(row, request.actor);
    await recordAudit(trx, { ...context, pendingChangeId: row.id }, { action: 'propose', entity: CHANGES_ENTITY, entityId: row.id, newValue: view });
    await recordChangeEvidence(trx, 'proposed', row);
    return { pending: view };
  });
  if (afterCommit) await afterCommit();
  // Applied here: this instance reloads the access data before answering, so the caller's next
  // decision sees the change (as mutate() does; other instances follow the notification).
  if ('applied' in outcome) await request.server.policy?.reloadAccessData();
  // An applied catalog change is evaluated before the answer (src/evaluation/catalog-evaluation.ts).
  if (catalogChanged) await request.server.jobs?.catalog.evaluate();
  return outcome;
}

/** The 409 of an approval whose entity changed after the proposal. */
export function stale(entity: string, id: string, base: number | null, now: number): HttpProblem {
  return new HttpProblem(409, 'stale-change', `${entity} ${id} changed since this change was proposed (version ${base} → ${now}): reject it and propose it again`);
}
