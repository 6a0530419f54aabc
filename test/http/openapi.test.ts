import { execFileSync } from 'node:child_process';
import fs from 'node:fs/promises';
import path from 'node:path';
import openapiTS, { astToString } from 'openapi-typescript';
import t from 'tap';
import { tempDir, testApp } from '../helpers/app.js';

// The OpenAPI document is what clients are generated from: every operation named, every request
// body and main response with an example, tags described, and a typed client that compiles.
t.test('the OpenAPI document serves client generators', async (t) => {
  const api = await testApp(t);
  const doc = (await api.call('GET', '/docs/json', { as: null })).body;

  t.same(doc.servers, [{ url: '/', description: 'the Custos instance serving this document' }]);
  const described = new Map((doc.tags as Array<{ name: string; description: string }>).map((tag) => [tag.name, tag.description]));
  const ids = new Set<string>();
  for (const [route, methods] of Object.entries(doc.paths as Record<string, Record<string, any>>)) {
    for (const [method, op] of Object.entries(methods)) {
      const name = `${method.toUpperCase()} ${route}`;
      t.ok(op.operationId, `${name} has an operationId`);
      t.notOk(ids.has(op.operationId), `${name}: operationId ${op.operationId} is unique`);
      ids.add(op.operationId);
      for (const tag of op.tags ?? []) t.ok(described.get(tag), `${name}: tag ${tag} is described`);
      const body = op.requestBody?.content?.['application/json'];
      if (body) t.ok(body.example !== undefined || body.examples, `${name}: the request body has an example`);
      const [status, response] = Object.entries(op.responses as Record<string, any>).find(([code]) => /^2/.test(code)) ?? [];
      const json = response?.content?.['application/json'];
      if (json) t.ok(json.example !== undefined || json.examples, `${name}: response ${status} has an example`);
      t.notMatch(op.summary ?? '', /\ba [aeiou]/i, `${name}: "${op.summary}" reads well`);
    }
  }
  const exported = doc.paths['/v1/evidence/export'].get.responses['200'].content;
  t.same(Object.keys(exported), ['application/zip'], 'the export is declared as a zip');

  const wrong = await api.call('DELETE', '/v1/controls');
  t.same([wrong.status, wrong.body.type, wrong.headers.allow], [405, '/problems/method-not-allowed', 'GET, HEAD']);
  const itemWrong = await api.call('PUT', '/v1/assets/01900000-0000-7000-8000-000000000000');
  t.equal(itemWrong.status, 405);
  t.match(itemWrong.headers.allow, /GET/);
  t.equal((await api.call('GET', '/v1/no-such-thing')).status, 404, 'an unknown path is still 404');

  // A typed client generated from the document (openapi-typescript), used by code that type-checks.
  const dir = await tempDir('custos-client-');
  await fs.writeFile(path.join(dir, 'custos.d.ts'), astToString(await openapiTS(doc)));
  await fs.writeFile(
    path.join(dir, 'use.ts'),
    `import type { paths, operations } from './custos.js';
type Controls = paths['/v1/controls']['get']['responses']['200']['content']['application/json'];
export const firstStatus = (page: Controls): string | undefined => page.items[0]?.status;
export const nextCursor = (page: Controls): string | null => page.next_cursor;
type NewKey = operations['postApiKeys']['requestBody'];
export const key: NonNullable<NewKey>['content']['application/json'] = { role: 'auditor', name: 'ci' };
`,
  );
  const tsc = path.resolve('node_modules/typescript/bin/tsc');
  try {
    execFileSync(process.execPath, [tsc, '--noEmit', '--strict', '--module', 'nodenext', '--moduleResolution', 'nodenext', '--skipLibCheck', path.join(dir, 'use.ts')], { encoding: 'utf8' });
    t.pass('the generated client type-checks against its use');
  } catch (error) {
    t.fail(`the generated client does not type-check: ${(error as { stdout?: string }).stdout}`);
  }
});
