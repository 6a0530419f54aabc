import { Type, type Static } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { CATALOG_READERS, RISK_OWNERS } from '../auth/roles.js';
import { equalityFilters, tableRepository, type Entity } from '../db/table-repository.js';
import { patchOf, type ResourceDefinition } from '../http/crud.js';
import { invalidField, notFound, problemResponses } from '../http/problem.js';
import { EntityMeta, IdParams, StringEnum, Text, withExample } from '../http/schemas.js';
import { Slug } from './classifications.js';
import { revealsMore } from './protection.js';
import { applyMask, MASKING_STRATEGIES, STRATEGY_PARAMS, type MaskingParams } from './masking.js';

const Params = Type.Object(
  {
    visible: Type.Optional(Type.Integer({ minimum: 1, maximum: 16 })),
    mask_char: Type.Optional(Type.String({ minLength: 1, maxLength: 1 })),
    replacement: Type.Optional(Type.String({ maxLength: 32 })),
  },
  { additionalProperties: false },
);

const fields = {
  name: withExample(Slug, 'ssn_last4'),
  description: Type.Optional(withExample(Text, 'Show only the last four digits of an SSN.')),
  strategy: StringEnum(MASKING_STRATEGIES, { description: 'show_last: keep the last N letters/digits; email_domain: keep the domain; redact: hide all' }),
  params: Type.Optional(Params),
};
export const MaskingRuleCreate = Type.Object(fields, {
  additionalProperties: false,
  examples: [{ name: 'account_last4', description: 'Show only the last four digits of an account number.', strategy: 'show_last', params: { visible: 4, mask_char: '*' } }],
});
export type MaskingRuleCreate = Static<typeof MaskingRuleCreate>;
export const MaskingRule = Type.Object({ ...EntityMeta, ...fields, description: withExample(Text, 'Show only the last four digits of an SSN.'), params: Params });
export type MaskingRule = Static<typeof MaskingRule> & Entity;

/** Seed 001 §5.2 masking rules, with `POST /v1/masking-rules/:id/preview` to try one on a value. */
export const maskingRules: ResourceDefinition<MaskingRule, MaskingRuleCreate, Partial<MaskingRuleCreate>> = {
  name: 'masking-rules',
  singular: 'masking rule',
  tag: 'catalog',
  schemas: {
    entity: MaskingRule,
    create: MaskingRuleCreate,
    patch: patchOf(MaskingRuleCreate),
    filters: { strategy: StringEnum(MASKING_STRATEGIES) },
  },
  roles: { read: CATALOG_READERS, write: RISK_OWNERS },
  // A weaker rule unmasks every column that uses it.
  guard: {
    update: async (_trx, current, patch) => {
      const after = { strategy: patch.strategy ?? current.strategy, params: patch.params === undefined ? current.params : (patch.params ?? {}) };
      return {
        reasons: revealsMore(current, after) ? [`masking rule ${current.name} becomes ${after.strategy} ${JSON.stringify(after.params)}, which reveals more than ${current.strategy} ${JSON.stringify(current.params)}`] : [],
        approvers: { roles: ['admin', 'compliance_officer'], subjects: [] },
      };
    },
  },
  repository: tableRepository({
    table: 'masking_rules',
    jsonColumns: ['params'],
    filters: equalityFilters('strategy'),
    validate: (_trx, candidate) => {
      const allowed = STRATEGY_PARAMS[candidate.strategy];
      for (const key of Object.keys(candidate.params ?? {}) as Array<keyof MaskingParams>) {
        if (!allowed.includes(key)) throw invalidField(`params.${key}`, `is not a parameter of strategy ${candidate.strategy}`);
      }
    },
    derive: (candidate) => ({ params: candidate.params ?? {} }),
  }),
};

export function registerMaskingPreview(app: FastifyInstance) {
  app.post('/v1/masking-rules/:id/preview', {
    config: { roles: RISK_OWNERS.concat(['steward', 'auditor']) },
    schema: {
      tags: ['catalog'],
      summary: 'Apply a masking rule to a sample value',
      description: 'Nothing is stored and the value is not logged.',
      params: IdParams,
      body: Type.Object({ value: Type.String({ maxLength: 1000 }) }, { additionalProperties: false }),
      response: { 200: Type.Object({ masked: Type.String() }), ...problemResponses(400, 401, 403, 404) },
    },
    handler: async (request) => {
      const { id } = request.params as IdParams;
      const rule = await maskingRules.repository.get(app.db, id);
      if (!rule) throw notFound('masking rule', id);
      return { masked: applyMask(rule, (request.body as { value: string }).value) };
    },
  });
}
