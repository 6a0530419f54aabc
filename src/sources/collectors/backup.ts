import { BackupClient, GetBackupPlanCommand, GetBackupSelectionCommand, paginateListBackupPlans, paginateListBackupSelections, paginateListBackupVaults } from '@aws-sdk/client-backup';
import { allPages, clientConfig, throttled, defineCollector } from './common.js';

/**
 * AWS Backup: vaults with their lock, and plans with the vaults they write to and the resources
 * they select (AWS::Backup::BackupVault, AWS::Backup::BackupPlan), plus one
 * AWS::Backup::RegionalSettings (id account:region) saying the region's plans were all read, so
 * rules can tell "no plan covers this table" from "plans were not read". moto lacks backup
 * selections: the plan part is tested at the SDK boundary.
 */
export const backupCollector = defineCollector({
  name: 'backup',
  description: 'AWS Backup vaults (locked or not) and plans (target vaults, selected resource ARNs) of the region (AWS::Backup::BackupVault, AWS::Backup::BackupPlan, AWS::Backup::RegionalSettings).',
  permissions: ['backup:ListBackupVaults', 'backup:ListBackupPlans', 'backup:GetBackupPlan', 'backup:ListBackupSelections', 'backup:GetBackupSelection'],
  resourceTypes: ['AWS::Backup::BackupVault', 'AWS::Backup::BackupPlan', 'AWS::Backup::RegionalSettings'],
  async run(run) {
    const { context } = run;
    const backup = throttled(new BackupClient(clientConfig(context)), context);
    try {
      const vaults = await run.attempt('backup:ListBackupVaults', () => allPages(paginateListBackupVaults({ client: backup }, {}), (page) => page.BackupVaultList));
      if (!vaults) return;
      const locked = new Map<string, boolean>();
      for (const vault of vaults) {
        if (!vault.BackupVaultName) continue;
        locked.set(vault.BackupVaultName, vault.Locked === true);
        run.resource('AWS::Backup::BackupVault', vault.BackupVaultName, { locked: vault.Locked === true, min_retention_days: vault.MinRetentionDays ?? null }, { arn: vault.BackupVaultArn });
      }
      const plans = await run.attempt('backup:ListBackupPlans', () => allPages(paginateListBackupPlans({ client: backup }, {}), (page) => page.BackupPlansList));
      if (!plans) return;
      for (const plan of plans) {
        const id = plan.BackupPlanId;
        if (!id) continue;
        const rules = await run.attempt(`backup:GetBackupPlan (${id})`, async () => (await backup.send(new GetBackupPlanCommand({ BackupPlanId: id }))).BackupPlan?.Rules ?? []);
        const selections = await run.attempt(`backup:ListBackupSelections (${id})`, () => allPages(paginateListBackupSelections({ client: backup }, { BackupPlanId: id }), (page) => page.BackupSelectionsList));
        if (!rules || !selections) return;
        const resources: string[] = [];
        for (const selection of selections) {
          if (!selection.SelectionId) continue;
          const chosen = await run.attempt(`backup:GetBackupSelection (${selection.SelectionId})`, async () => (await backup.send(new GetBackupSelectionCommand({ BackupPlanId: id, SelectionId: selection.SelectionId }))).BackupSelection?.Resources ?? []);
          if (!chosen) return;
          resources.push(...chosen);
        }
        const targets = [...new Set(rules.map((r) => r.TargetBackupVaultName ?? ''))];
        run.resource(
          'AWS::Backup::BackupPlan',
          id,
          { name: plan.BackupPlanName ?? '', vaults: targets, vaults_locked: targets.length > 0 && targets.every((v) => locked.get(v) === true), resources },
          { arn: plan.BackupPlanArn },
        );
      }
      run.resource('AWS::Backup::RegionalSettings', `${context.account}:${context.region}`, { plans_read: true });
    } finally {
      backup.destroy();
    }
  },
});
