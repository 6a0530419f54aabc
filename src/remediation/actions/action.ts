import type { TSchema } from '@sinclair/typebox';
import type { Knex } from 'knex';
import { canonicalJson } from '../../evidence/chain.js';
import type { GrantSource } from '../../access/grants/lakeformation.js';

/** The resource a finding is about, as the finding names it. */
export interface Target {
  resource_type: string;
  resource_id: string;
  account: string;
  region: string;
}

/** AWS client settings of the source (account, region, role) a resource is reached through. */
export interface AwsSettings {
  endpoint?: string;
  maxAttempts: number;
}

/** What an action is given for one resource. */
export interface ActionContext {
  db: Knex;
  source: GrantSource;
  aws: AwsSettings;
  params: Record<string, unknown>;
  /** For notes written to AWS (Security Hub). */
  remediationId: string;
}

/** The concrete change to one resource: its configuration now and after the action. */
export interface Change {
  before: Record<string, unknown>;
  after: Record<string, unknown>;
}

/** What a call to AWS returned that is worth keeping. */
export interface StepResult {
  requestIds: string[];
}

export type Risk = 'low' | 'high';

/** Thrown by `plan` when the action does not apply to a resource as it is now. */
export class NotApplicable extends Error {
  override name = 'NotApplicable';
}

export interface RemediationAction {
  /** The `remediation` value rules name in their metadata. */
  name: string;
  description: string;
  resourceTypes: string[];
  /** TypeBox schema of the parameters; unknown parameters are refused. */
  params: TSchema;
  /** IAM actions Custos needs in the target account. */
  permissions: string[];
  /** low: may run without approval where the rule allows auto-remediation; high: always approved first. */
  risk: Risk;
  /** Reads the resource from AWS now and returns the change; NotApplicable when nothing would change. */
  plan(context: ActionContext, target: Target): Promise<Change>;
  /** Reads the resource's state (the shape of before/after) from AWS. */
  read(context: ActionContext, target: Target): Promise<Record<string, unknown>>;
  apply(context: ActionContext, target: Target, change: Change): Promise<StepResult>;
  /** The apply took effect (checked on resume, before applying again). */
  applied(state: Record<string, unknown>, change: Change): boolean;
  /** The resource, read back, is in the planned state. */
  verify(context: ActionContext, target: Target, change: Change): Promise<boolean>;
  /** A last call after verify (Security Hub: RESOLVED); absent for most actions. */
  finalize?(context: ActionContext, target: Target, change: Change): Promise<StepResult>;
  /** Restores `before`; absent where the change cannot be undone. */
  rollback?(context: ActionContext, target: Target, change: Change): Promise<StepResult>;
  /** The rollback took effect (checked on resume). */
  rolledBack(state: Record<string, unknown>, change: Change): boolean;
}

/** The same state, however keys are ordered. */
export const sameState = (a: unknown, b: unknown) => canonicalJson(a) === canonicalJson(b);

export interface ActionSpec extends Omit<RemediationAction, 'plan' | 'verify' | 'applied' | 'rolledBack'> {
  /** The state the action brings `before` to, for the given parameters. */
  desired(before: Record<string, unknown>, context: ActionContext, target: Target): Record<string, unknown> | Promise<Record<string, unknown>>;
  applied?: RemediationAction['applied'];
  /** Verified when read back; default: applied. */
  verified?(state: Record<string, unknown>, change: Change): boolean;
  rolledBack?: RemediationAction['rolledBack'];
}

/**
 * An action from what is specific to it: how to read the resource, what state it wants, how to
 * apply and undo. Plan (read, then desired), verify (read back) and the resume checks are the same
 * for every action: by default a change took effect when the resource reads as `after`, and was
 * undone when it reads as `before`.
 */
export function defineAction(spec: ActionSpec): RemediationAction {
  const applied = spec.applied ?? ((state, change) => sameState(state, change.after));
  const verified = spec.verified ?? applied;
  return {
    ...spec,
    applied,
    rolledBack: spec.rolledBack ?? ((state, change) => sameState(state, change.before)),
    async plan(context, target) {
      const before = await spec.read(context, target);
      const after = await spec.desired(before, context, target);
      if (sameState(before, after)) throw new NotApplicable(`${target.resource_id} is already in the state ${spec.name} brings it to`);
      return { before, after };
    },
    async verify(context, target, change) {
      return verified(await spec.read(context, target), change);
    },
  };
}

/** The request id of an SDK answer, as a list (empty when AWS gave none). */
export const requestIds = (...answers: Array<{ $metadata: { requestId?: string } }>): string[] =>
  answers.map((a) => a.$metadata.requestId).filter((id): id is string => typeof id === 'string' && id.length > 0);
