import { AccessAnalyzerClient, paginateListAnalyzers } from '@aws-sdk/client-accessanalyzer';
import { allPages, clientConfig, throttled, defineCollector } from './common.js';

/** IAM Access Analyzer analyzers of the region (AWS::AccessAnalyzer::RegionalSettings, id account:region). moto lacks the service. */
export const accessAnalyzerCollector = defineCollector({
  name: 'accessanalyzer',
  description: 'IAM Access Analyzer analyzers of the region and how many are active (AWS::AccessAnalyzer::RegionalSettings, id account:region).',
  permissions: ['access-analyzer:ListAnalyzers'],
  resourceTypes: ['AWS::AccessAnalyzer::RegionalSettings'],
  async run(run) {
    const { context } = run;
    const client = throttled(new AccessAnalyzerClient(clientConfig(context)), context);
    try {
      const analyzers = await run.attempt('access-analyzer:ListAnalyzers', () => allPages(paginateListAnalyzers({ client }, {}), (page) => page.analyzers));
      if (!analyzers) return;
      const listed = analyzers.map((a) => ({ name: a.name ?? '', type: a.type ?? '', status: a.status ?? '' }));
      run.resource('AWS::AccessAnalyzer::RegionalSettings', `${context.account}:${context.region}`, { active_analyzers: listed.filter((a) => a.status === 'ACTIVE').length, analyzers: listed });
    } finally {
      client.destroy();
    }
  },
});
