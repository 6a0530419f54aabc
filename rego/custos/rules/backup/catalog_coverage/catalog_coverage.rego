# METADATA
# title: Catalog database not backed up to a locked vault
# description: "An Aurora cluster or DynamoDB table holding catalogued data that no AWS Backup plan of its account and region selects with every target vault locked (judged only where the region's backup plans were all read)."
# custom:
#   id: backup.catalog_coverage
#   scope: account
#   item_types: [AWS::RDS::DBCluster, AWS::DynamoDB::Table, AWS::Backup::BackupPlan]
#   reads: [catalog, coverage]
#   severity: high
#   controls: [A1.2]
#   resource_types: [AWS::RDS::DBCluster, AWS::DynamoDB::Table]
#   listing_scope: resources
#   listed_types: [AWS::Backup::BackupPlan]
#   hint: "Add the resource to an AWS Backup plan (a selection by ARN or tag) whose rules write to a vault with Vault Lock (aws backup put-backup-vault-lock-configuration)."
#   seed: "002 Phase 0 Backup and Disaster Recovery: Configure AWS Backup policies; Phase 7 AWS Backup plans for DynamoDB"
#   absence_is_compliance: true
package custos.rules.backup.catalog_coverage

import data.custos.lib

metadata := lib.metadata(rego.metadata.chain())

violations contains v if {
	some type in ["AWS::RDS::DBCluster", "AWS::DynamoDB::Table"]
	some r in lib.resources(type)
	lib.catalog_rank(r) >= 0
	plans_read(r)
	not protected(r)
	msg := concat("", [type, " ", r.id, " holds catalogued data and no backup plan with a locked vault selects it"])
	v := lib.violation(rego.metadata.chain(), r, msg)
}

# "No plan selects it" is a verdict only where the region's plans were all listed.
plans_read(r) if lib.listed("AWS::Backup::BackupPlan", r.account, r.region)

protected(r) if {
	some plan in lib.resources("AWS::Backup::BackupPlan")
	plan.account == r.account
	plan.region == r.region
	plan.configuration.vaults_locked == true
	some selected in plan.configuration.resources
	selects(selected, object.get(r, "arn", ""))
}

selects(pattern, arn) if pattern == arn

selects("*", _)

selects(pattern, arn) if {
	endswith(pattern, "*")
	startswith(arn, trim_suffix(pattern, "*"))
}
