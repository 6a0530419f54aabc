/**
 * Prints the least-privilege IAM policy of the role Custos assumes to collect: exactly the actions
 * the collectors declare (src/sources/collectors), read-only, sorted, one statement per collector so
 * a reviewer sees why each action is there. `-- --services s3,iam` limits it to those collectors.
 * sts:GetCallerIdentity (the identity check before every collection) needs no permission.
 */
import { COLLECTORS, collectorNamed } from '../src/sources/collectors/index.js';

export function iamPolicy(services: readonly string[] = Object.keys(COLLECTORS)) {
  return {
    Version: '2012-10-17',
    Statement: services.map((name) => ({
      Sid: `Custos${name.replace(/(^|[^a-z0-9])([a-z0-9])/g, (_, __, c: string) => c.toUpperCase())}Collector`,
      Effect: 'Allow',
      Action: [...new Set(collectorNamed(name).permissions)].sort(),
      Resource: '*',
    })),
  };
}

const flag = process.argv.indexOf('--services');
const services = flag >= 0 ? (process.argv[flag + 1] ?? '').split(',').filter(Boolean) : undefined;
if (process.argv[1]?.endsWith('iam-policy.ts')) {
  try {
    process.stdout.write(JSON.stringify(iamPolicy(services), null, 2) + '\n');
  } catch (error) {
    process.stderr.write(`iam:policy: ${(error as Error).message}\n`);
    process.exit(2);
  }
}
