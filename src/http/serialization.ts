import fastJsonStringify from 'fast-json-stringify';
import type { FastifySerializerCompiler } from 'fastify/types/schema.js';

// Compiled response serialisers by schema text, for the life of the process: what Fastify's default
// compiler does (fast-json-stringify, no shared schemas), without compiling the same schema again
// for every app instance. Route schemas are mostly built inside their plugin, so each app has its
// own objects; the test suite builds hundreds of apps in one process, and compiling every route's
// response schemas was about a third of each app's start (docs/ARCHITECTURE.md, Tests).
const serializers = new Map<string, (data: unknown) => string>();

export const serializerCompiler: FastifySerializerCompiler<unknown> = ({ schema }) => {
  const key = JSON.stringify(schema);
  let serialize = serializers.get(key);
  if (!serialize) serializers.set(key, (serialize = fastJsonStringify(schema as never) as (data: unknown) => string));
  return serialize;
};
