import { readFileSync } from 'node:fs';
import semver from 'semver';
import t from 'tap';

// The declared engines are true: every installed package (runtime and dev) supports the lowest Node
// that package.json's `engines` admits, so `npm ci` on that Node warns of nothing (and fails, with
// engine-strict in .npmrc, when a dependency stops supporting it).
const pkg = JSON.parse(readFileSync('package.json', 'utf8'));
const lock = JSON.parse(readFileSync('package-lock.json', 'utf8'));
const lowest = semver.minVersion(pkg.engines.node)!.version;

t.test(`every dependency supports Node ${lowest}, the lowest our engines admit`, async (t) => {
  const unsupported = Object.entries(lock.packages as Record<string, { engines?: { node?: string } }>)
    .filter(([, entry]) => typeof entry.engines?.node === 'string' && !semver.satisfies(lowest, entry.engines.node))
    .map(([name, entry]) => `${name} needs node ${entry.engines!.node}`);
  t.same(unsupported, []);
  t.ok(semver.satisfies(process.version, pkg.engines.node), `this Node (${process.version}) is one the engines admit`);
});

t.test('npm refuses an unsupported engine; the README states the same minimum', async (t) => {
  t.match(readFileSync('.npmrc', 'utf8'), /^engine-strict=true$/m);
  t.match(readFileSync('README.md', 'utf8'), `Needs Node ${lowest.replace(/\.0$/, '')}+`);
});

t.test('the AWS SDK Node version warning is silenced only because the installed SDK supports our Node', async (t) => {
  for (const name of ['@aws-sdk/core', '@aws-sdk/client-s3']) {
    const engines = JSON.parse(readFileSync(`node_modules/${name}/package.json`, 'utf8')).engines.node;
    t.ok(semver.satisfies(lowest, engines), `${name} declares node ${engines}`);
  }
  await import('../../src/config.js');
  t.equal(process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED, 'true');
});
