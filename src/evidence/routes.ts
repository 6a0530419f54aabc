import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { CATALOG_READERS, OVERSIGHT } from '../auth/roles.js';
import { paginate } from '../db/pagination.js';
import { notFound, problemResponses } from '../http/problem.js';
import { IdParams, IsoDateTime, Page, PageQuery } from '../http/schemas.js';
import { CONTROL_ID } from '../controls/catalog.js';
import { verifyChain } from './chain.js';

const Item = Type.Object({
  seq: Type.Integer(),
  id: Type.String(),
  control_id: Type.String(),
  kind: Type.String(),
  source_id: Type.String(),
  collected_at: IsoDateTime,
  bundle_revision: Type.Union([Type.String(), Type.Null()]),
  body: Type.Unknown(),
  body_sha256: Type.String(),
  prev_hash: Type.String(),
  hash: Type.String(),
});

export default async function evidenceRoutes(app: FastifyInstance) {
  app.get('/v1/evidence', {
    config: { roles: CATALOG_READERS },
    schema: {
      tags: ['evidence'],
      summary: 'Evidence items in chain order (filters control, kind, from, to)',
      querystring: Type.Object(
        {
          ...PageQuery,
          control: Type.Optional(Type.String({ pattern: CONTROL_ID })),
          kind: Type.Optional(Type.String({ maxLength: 20 })),
          from: Type.Optional(IsoDateTime),
          to: Type.Optional(IsoDateTime),
        },
        { additionalProperties: false },
      ),
      response: { 200: Page(Item), ...problemResponses(400, 401, 403) },
    },
    handler: async (request) => {
      const { control, kind, from, to, ...page } = request.query as { control?: string; kind?: string; from?: string; to?: string };
      const query = app.db('evidence_items').select('*');
      if (control) query.where({ control_id: control });
      if (kind) query.where({ kind });
      if (from) query.where('collected_at', '>=', from);
      if (to) query.where('collected_at', '<', to);
      return paginate(query, page, [{ sql: 'seq', field: 'seq' }]);
    },
  });

  app.get('/v1/evidence/:id', {
    config: { roles: CATALOG_READERS },
    schema: { tags: ['evidence'], summary: 'One evidence item', params: IdParams, response: { 200: Item, ...problemResponses(400, 401, 403, 404) } },
    handler: async (request) => {
      const { id } = request.params as IdParams;
      const item = await app.db('evidence_items').where({ id }).first();
      if (!item) throw notFound('evidence item', id);
      return item;
    },
  });

  app.post('/v1/evidence/verify', {
    config: { roles: OVERSIGHT },
    schema: {
      tags: ['evidence'],
      summary: 'Re-check the whole evidence chain and report the first break',
      description: 'Every body against its SHA-256, every hash against its fields and the previous hash. Keep the returned head: a later deletion of the newest items is then detectable too.',
      response: {
        200: Type.Object({
          ok: Type.Boolean(),
          items: Type.Integer(),
          head: Type.String(),
          first_break: Type.Optional(Type.Object({ seq: Type.Integer(), id: Type.String(), problem: Type.String() })),
        }),
        ...problemResponses(401, 403),
      },
    },
    handler: async () => verifyChain(app.db),
  });
}
