import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import fastifyStatic from '@fastify/static';
import type { FastifyInstance } from 'fastify';

/** The console's pages: each path serves the single-page app, which routes in the browser. */
export const CONSOLE_PAGES = ['/', '/signin', '/catalog', '/findings', '/evidence', '/admin', '/controls', '/access', '/policies', '/approvals'] as const;

/** dist/web under the package root, whether Custos runs from src/ (tsx, tests) or dist/src/. */
export function consoleRoot(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  while (!existsSync(path.join(dir, 'package.json')) && path.dirname(dir) !== dir) dir = path.dirname(dir);
  return path.join(dir, 'dist', 'web');
}

/**
 * Serves the built web console (web/, built by `npm run build` into dist/web) at / on the API's
 * port. The files are public (they hold no data); everything they show comes from /v1 with the
 * person's session. Without a build, / says how to make one.
 */
export default async function consoleRoutes(app: FastifyInstance, options: { root?: string } = {}) {
  const root = options.root ?? consoleRoot();
  await app.register(async (scope) => {
    scope.addHook('onRoute', (route) => {
      route.config = { ...route.config, public: true };
    });
    if (!existsSync(path.join(root, 'index.html'))) {
      scope.get('/', { schema: { hide: true } }, async (_request, reply) =>
        reply.code(503).type('text/plain').send('The web console is not built: run `npm run build` (the API docs are at /docs).\n'),
      );
      return;
    }
    // Only files present at start-up are served (no wildcard), hashed assets cached for a year. HTML
    // (index.html, as itself or as every page) names the current hashed assets, so it is revalidated
    // on every visit: set in setHeaders, which @fastify/static runs after its own Cache-Control (a
    // header set before sendFile is overwritten with `public, max-age=0`).
    await scope.register(fastifyStatic, {
      root,
      prefix: '/',
      wildcard: false,
      index: false,
      immutable: true,
      maxAge: '365d',
      setHeaders: (reply, file) => {
        if (file.endsWith('.html')) reply.header('cache-control', 'no-cache');
      },
    });
    for (const page of CONSOLE_PAGES) {
      scope.get(page, { schema: { hide: true } }, async (_request, reply) => reply.sendFile('index.html'));
    }
  });
}
