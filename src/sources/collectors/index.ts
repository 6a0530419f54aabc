import type { Collector } from '../types.js';
import { cloudtrailCollector } from './cloudtrail.js';
import { configCollector } from './config.js';
import { ec2Collector } from './ec2.js';
import { iamCollector } from './iam.js';
import { kmsCollector } from './kms.js';
import { lakeformationCollector } from './lakeformation.js';
import { rdsCollector } from './rds.js';
import { s3Collector } from './s3.js';
import { securityhubCollector } from './securityhub.js';
import { accessAnalyzerCollector } from './accessanalyzer.js';
import { backupCollector } from './backup.js';
import { configRecorderCollector } from './configrecorder.js';
import { dynamodbCollector } from './dynamodb.js';
import { guarddutyCollector } from './guardduty.js';
import { logsCollector } from './logs.js';
import { macieCollector } from './macie.js';
import { s3AccountCollector } from './s3account.js';
import { secretsManagerCollector } from './secretsmanager.js';
import { vpcCollector } from './vpc.js';

/** Every collector, by name. */
export const COLLECTORS: Readonly<Record<string, Collector>> = Object.freeze(
  Object.fromEntries(
    [
      s3Collector,
      ec2Collector,
      kmsCollector,
      cloudtrailCollector,
      iamCollector,
      rdsCollector,
      configCollector,
      securityhubCollector,
      lakeformationCollector,
      // The SOC 2 Phase-0 baseline (issue 17).
      guarddutyCollector,
      macieCollector,
      accessAnalyzerCollector,
      vpcCollector,
      logsCollector,
      s3AccountCollector,
      configRecorderCollector,
      backupCollector,
      dynamodbCollector,
      secretsManagerCollector,
    ].map((c) => [c.name, c]),
  ),
);

export const COLLECTOR_NAMES: readonly string[] = Object.freeze(Object.keys(COLLECTORS));

/** The collector of that name; an Error naming the valid ones otherwise. */
export function collectorNamed(name: string): Collector {
  const collector = Object.hasOwn(COLLECTORS, name) ? COLLECTORS[name] : undefined;
  if (!collector) throw new Error(`unknown collector "${name}"; valid collectors: ${COLLECTOR_NAMES.join(', ')}`);
  return collector;
}
