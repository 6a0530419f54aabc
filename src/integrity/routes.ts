import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { OVERSIGHT, RISK_OWNERS } from '../auth/roles.js';
import type { SigningKey } from '../evidence/signing.js';
import { problemResponses } from '../http/problem.js';
import { verifyIntegrity, writeCheckpoint, type CheckpointStore } from './checkpoints.js';

const Heads = {
  audit: Type.Object({ last_id: Type.Integer(), hash: Type.String() }),
  evidence: Type.Object({ last_seq: Type.Integer(), hash: Type.String() }),
};
const Checkpoint = Type.Object({ at: Type.String({ format: 'date-time' }), key_id: Type.String(), ...Heads }, { title: 'Checkpoint' });

/** Checkpoints of the chain heads outside the database, and the verification against them. */
export default async function integrityRoutes(app: FastifyInstance, options: { store: CheckpointStore; signingKey: SigningKey }) {
  app.post('/v1/integrity/checkpoints', {
    config: { roles: RISK_OWNERS },
    schema: {
      tags: ['audit'],
      summary: 'Write a signed checkpoint of the audit and evidence chain heads now (also done on CUSTOS_CHECKPOINT_SCHEDULE)',
      response: { 201: Type.Object({ ...Checkpoint.properties, store: Type.String() }), ...problemResponses(401, 403) },
    },
    handler: async (_request, reply) => reply.code(201).send({ ...(await writeCheckpoint(app.db, options.store, options.signingKey)), store: options.store.describe() }),
  });

  app.post('/v1/integrity/verify', {
    config: { roles: OVERSIGHT },
    schema: {
      tags: ['audit'],
      summary: 'Verify the audit and evidence chains and compare them with the newest signed checkpoint',
      description:
        '`status`: ok when both chains are intact and still pass through the checkpointed heads; broken otherwise (`problems` says where); not_tested when there is no checkpoint yet to compare with.',
      response: {
        200: Type.Object({
          status: Type.Union([Type.Literal('ok'), Type.Literal('broken'), Type.Literal('not_tested')]),
          audit: Type.Object({ ok: Type.Boolean(), rows: Type.Integer(), head: Type.String(), first_break: Type.Optional(Type.Object({ id: Type.Integer(), problem: Type.String() })) }),
          evidence: Type.Object({ ok: Type.Boolean(), items: Type.Integer(), head: Type.String(), first_break: Type.Optional(Type.Object({ seq: Type.Integer(), id: Type.String({ examples: ['0190a8d2-7c1e-7000-8000-000000000043'] }), problem: Type.String() })) }),
          checkpoint: Type.Union([Type.Object({ ...Checkpoint.properties, store: Type.String() }), Type.Null()]),
          problems: Type.Array(Type.String()),
        }),
        ...problemResponses(401, 403),
      },
    },
    handler: async () => verifyIntegrity(app.db, options.store, options.signingKey.publicKeyPem),
  });
}
