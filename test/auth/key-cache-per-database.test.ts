/**
 * The cache of validated API keys belongs to one database. Two services in one process (the test
 * suites build many, each on its own database, all with the same bootstrap secret) must each
 * resolve a secret to their own key: a cache shared by the process gave the second service the
 * first one's key, subject included, for 5 s, and four-eyes then compared the wrong identities
 * (test/security/key-issuer.test.ts failed that way under load).
 */
import t from 'tap';
import { testApp } from '../helpers/app.js';

t.test('one secret, two databases: each service resolves it to its own key', async (t) => {
  const first = await testApp(t, { workers: false });
  const second = await testApp(t, { workers: false });
  const subjectIn = async (api: typeof first) => (await api.call('GET', '/v1/session', { as: 'admin' })).body.subject as string;
  const ownKey = async (api: typeof first) => `key:${(await api.app.db('api_keys').where({ role: 'admin' }).orderBy('created_at').first('id')).id}`;

  t.equal(await subjectIn(first), await ownKey(first), 'the first service: its own bootstrap key');
  // Within the cache's 5 s: the second service must not take the first one's cached key.
  t.equal(await subjectIn(second), await ownKey(second), 'the second service: its own bootstrap key, not the first one\'s');
  t.not(await ownKey(first), await ownKey(second), 'two databases, two keys');
});
