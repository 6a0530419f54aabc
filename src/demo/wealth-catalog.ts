/**
 * Demo metadata catalog for the wealth-management data platform.
 *
 * Derived from the seed design document
 * `001-wealth-management-data-design.txt`:
 *   - domains: section 1 (domain list) and section 10.2 (data ownership);
 *   - assets: sections 4.1 to 4.4 (every table and every column, in the
 *     document's order), followed by the S3 document store of section 2;
 *   - masking rules: section 5.2; retention policies: section 5.3.
 *
 * Owners and stewards are fictitious identifiers at `bank.example`.
 */

export type DemoReviewFrequency = 'monthly' | 'quarterly' | 'semi_annual' | 'annual';

export interface DemoDomain {
  name: string;
  description: string;
  owner: string;
  steward: string;
  review_frequency: DemoReviewFrequency;
}

export type DemoClassification = 'public' | 'internal' | 'confidential' | 'restricted';

export type DemoPiiType =
  | 'ssn'
  | 'email'
  | 'phone'
  | 'credit_card'
  | 'tax_id'
  | 'account_number'
  | 'name'
  | 'address'
  | 'dob';

export type DemoMaskingRule = 'ssn_last4' | 'card_last4' | 'email_domain' | 'phone_last4' | 'redact';

export type DemoRetention =
  | 'client-data'
  | 'transaction-data'
  | 'document-data'
  | 'audit-logs'
  | 'performance-data';

export interface DemoColumn {
  name: string;
  data_type: string;
  description?: string;
  classification: DemoClassification;
  pii_type?: DemoPiiType;
  masking_rule?: DemoMaskingRule;
}

export interface DemoAsset {
  store: 'aurora' | 'dynamodb' | 's3' | 'snowflake' | 'glue';
  database: string;
  table: string;
  description: string;
  domain: string;
  retention_policy?: DemoRetention;
  location?: string;
  columns: DemoColumn[];
}

export const demoDomains: DemoDomain[] = [
  {
    name: 'Client',
    description: 'Client master data: identity, contact details, relationships, segments, agreements, risk profiles, preferences and tax information.',
    owner: 'head.client-services@bank.example',
    steward: 'client-data.steward@bank.example',
    review_frequency: 'quarterly',
  },
  {
    name: 'Account',
    description: 'Client accounts with their types, status history, permissions, fees, statements, transfers and linked external accounts.',
    owner: 'head.account-services@bank.example',
    steward: 'account-data.steward@bank.example',
    review_frequency: 'quarterly',
  },
  {
    name: 'Investment',
    description: 'Portfolios, investment models, holdings, transactions, securities, prices and performance of managed assets.',
    owner: 'chief.investment-officer@bank.example',
    steward: 'investment-data.steward@bank.example',
    review_frequency: 'semi_annual',
  },
  {
    name: 'Trust Management',
    description: 'Data supporting the administration of client trusts and fiduciary arrangements.',
    owner: 'head.trust-services@bank.example',
    steward: 'trust-data.steward@bank.example',
    review_frequency: 'semi_annual',
  },
  {
    name: 'Operations',
    description: 'Operational data of the wealth-management division, such as processing, reconciliation and servicing records.',
    owner: 'head.wealth-operations@bank.example',
    steward: 'operations-data.steward@bank.example',
    review_frequency: 'semi_annual',
  },
  {
    name: 'Client Lifecycle Management',
    description: 'Events marking each stage of the client relationship, from onboarding to offboarding.',
    owner: 'head.client-onboarding@bank.example',
    steward: 'lifecycle-data.steward@bank.example',
    review_frequency: 'quarterly',
  },
  {
    name: 'Document Management',
    description: 'Client documents and account statements, with their metadata and stored files.',
    owner: 'head.records-management@bank.example',
    steward: 'document-data.steward@bank.example',
    review_frequency: 'quarterly',
  },
];

export const demoAssets: DemoAsset[] = [
  // ---------------------------------------------------------------------
  // 4.1 Client Domain (PostgreSQL Aurora)
  // ---------------------------------------------------------------------
  {
    store: 'aurora',
    database: 'wealth',
    table: 'clients',
    description: 'Core identity record of each wealth-management client.',
    domain: 'Client',
    retention_policy: 'client-data',
    columns: [
      { name: 'client_id', data_type: 'int', description: 'PRIMARY KEY', classification: 'internal' },
      { name: 'first_name', data_type: 'varchar', classification: 'confidential', pii_type: 'name' },
      { name: 'last_name', data_type: 'varchar', classification: 'confidential', pii_type: 'name' },
      { name: 'date_of_birth', data_type: 'date', classification: 'restricted', pii_type: 'dob', masking_rule: 'redact' },
      { name: 'ssn', data_type: 'varchar', description: 'UNIQUE INDEX', classification: 'restricted', pii_type: 'ssn', masking_rule: 'ssn_last4' },
      { name: 'marital_status', data_type: 'varchar', classification: 'confidential' },
      { name: 'created_at', data_type: 'timestamp', classification: 'internal' },
      { name: 'updated_at', data_type: 'timestamp', classification: 'internal' },
    ],
  },
  {
    store: 'aurora',
    database: 'wealth',
    table: 'contact_information',
    description: 'Postal address, phone, email and preferred contact method of each client.',
    domain: 'Client',
    retention_policy: 'client-data',
    columns: [
      { name: 'contact_id', data_type: 'int', description: 'PRIMARY KEY', classification: 'internal' },
      { name: 'client_id', data_type: 'int', description: 'FOREIGN KEY → clients.client_id', classification: 'internal' },
      { name: 'address', data_type: 'varchar', classification: 'confidential', pii_type: 'address', masking_rule: 'redact' },
      { name: 'city', data_type: 'varchar', classification: 'confidential', pii_type: 'address' },
      { name: 'state', data_type: 'varchar', classification: 'confidential', pii_type: 'address' },
      { name: 'zip_code', data_type: 'varchar', classification: 'confidential', pii_type: 'address' },
      { name: 'phone_number', data_type: 'varchar', classification: 'confidential', pii_type: 'phone', masking_rule: 'phone_last4' },
      { name: 'email', data_type: 'varchar', description: 'UNIQUE INDEX', classification: 'confidential', pii_type: 'email', masking_rule: 'email_domain' },
      { name: 'preferred_contact_method', data_type: 'varchar', classification: 'confidential' },
    ],
  },
  {
    store: 'aurora',
    database: 'wealth',
    table: 'relationships',
    description: 'Relationships between clients, such as family or household links.',
    domain: 'Client',
    retention_policy: 'client-data',
    columns: [
      { name: 'relationship_id', data_type: 'int', description: 'PRIMARY KEY', classification: 'internal' },
      { name: 'client_id', data_type: 'int', description: 'FOREIGN KEY → clients.client_id', classification: 'internal' },
      { name: 'related_client_id', data_type: 'int', description: 'FOREIGN KEY → clients.client_id', classification: 'internal' },
      { name: 'relationship_type', data_type: 'varchar', classification: 'confidential' },
    ],
  },
  {
    store: 'aurora',
    database: 'wealth',
    table: 'client_segments',
    description: 'Segment assigned to each client for servicing and reporting.',
    domain: 'Client',
    retention_policy: 'client-data',
    columns: [
      { name: 'segment_id', data_type: 'int', description: 'PRIMARY KEY', classification: 'internal' },
      { name: 'client_id', data_type: 'int', description: 'FOREIGN KEY → clients.client_id', classification: 'internal' },
      { name: 'segment_code', data_type: 'varchar', classification: 'internal' },
      { name: 'segment_description', data_type: 'varchar', classification: 'internal' },
    ],
  },
  {
    store: 'aurora',
    database: 'wealth',
    table: 'client_documents',
    description: 'Metadata of client documents whose files are stored in S3.',
    domain: 'Document Management',
    retention_policy: 'document-data',
    columns: [
      { name: 'document_id', data_type: 'int', description: 'PRIMARY KEY', classification: 'internal' },
      { name: 'client_id', data_type: 'int', description: 'FOREIGN KEY → clients.client_id', classification: 'internal' },
      { name: 'document_type', data_type: 'varchar', classification: 'internal' },
      { name: 'document_name', data_type: 'varchar', classification: 'confidential' },
      { name: 's3_location', data_type: 'varchar', classification: 'confidential' },
      { name: 'upload_date', data_type: 'date', classification: 'internal' },
    ],
  },
  {
    store: 'aurora',
    database: 'wealth',
    table: 'service_agreements',
    description: 'Service agreements signed with clients, with their period and terms.',
    domain: 'Client',
    retention_policy: 'client-data',
    columns: [
      { name: 'agreement_id', data_type: 'int', description: 'PRIMARY KEY', classification: 'internal' },
      { name: 'client_id', data_type: 'int', description: 'FOREIGN KEY → clients.client_id', classification: 'internal' },
      { name: 'agreement_type', data_type: 'varchar', classification: 'internal' },
      { name: 'agreement_start_date', data_type: 'date', classification: 'internal' },
      { name: 'agreement_end_date', data_type: 'date', classification: 'internal' },
      { name: 'terms', data_type: 'text', classification: 'confidential' },
    ],
  },
  {
    store: 'aurora',
    database: 'wealth',
    table: 'risk_profiles',
    description: 'Risk tolerance, investment goals and time horizon of each client.',
    domain: 'Client',
    retention_policy: 'client-data',
    columns: [
      { name: 'profile_id', data_type: 'int', description: 'PRIMARY KEY', classification: 'internal' },
      { name: 'client_id', data_type: 'int', description: 'FOREIGN KEY → clients.client_id', classification: 'internal' },
      { name: 'risk_tolerance', data_type: 'varchar', classification: 'confidential' },
      { name: 'investment_goals', data_type: 'text', classification: 'confidential' },
      { name: 'time_horizon', data_type: 'varchar', classification: 'confidential' },
    ],
  },
  {
    store: 'aurora',
    database: 'wealth',
    table: 'client_preferences',
    description: 'Communication and service preferences of each client.',
    domain: 'Client',
    retention_policy: 'client-data',
    columns: [
      { name: 'preference_id', data_type: 'int', description: 'PRIMARY KEY', classification: 'internal' },
      { name: 'client_id', data_type: 'int', description: 'FOREIGN KEY → clients.client_id', classification: 'internal' },
      { name: 'communication_preferences', data_type: 'text', classification: 'confidential' },
      { name: 'service_preferences', data_type: 'text', classification: 'confidential' },
    ],
  },
  {
    store: 'aurora',
    database: 'wealth',
    table: 'client_tax_information',
    description: 'Tax status and tax identifier of each client.',
    domain: 'Client',
    retention_policy: 'client-data',
    columns: [
      { name: 'tax_info_id', data_type: 'int', description: 'PRIMARY KEY', classification: 'internal' },
      { name: 'client_id', data_type: 'int', description: 'FOREIGN KEY → clients.client_id', classification: 'internal' },
      { name: 'tax_status', data_type: 'varchar', classification: 'confidential' },
      { name: 'tax_id', data_type: 'varchar', classification: 'restricted', pii_type: 'tax_id', masking_rule: 'redact' },
    ],
  },
  {
    store: 'aurora',
    database: 'wealth',
    table: 'client_lifecycle_events',
    description: 'Dated events in the lifecycle of each client relationship.',
    domain: 'Client Lifecycle Management',
    retention_policy: 'client-data',
    columns: [
      { name: 'event_id', data_type: 'int', description: 'PRIMARY KEY', classification: 'internal' },
      { name: 'client_id', data_type: 'int', description: 'FOREIGN KEY → clients.client_id', classification: 'internal' },
      { name: 'event_type', data_type: 'varchar', classification: 'internal' },
      { name: 'event_date', data_type: 'date', classification: 'internal' },
      { name: 'event_description', data_type: 'text', classification: 'confidential' },
    ],
  },

  // ---------------------------------------------------------------------
  // 4.2 Account Domain (PostgreSQL Aurora)
  // ---------------------------------------------------------------------
  {
    store: 'aurora',
    database: 'wealth',
    table: 'accounts',
    description: 'Client accounts with their number, type, opening date, balance and status.',
    domain: 'Account',
    retention_policy: 'client-data',
    columns: [
      { name: 'account_id', data_type: 'int', description: 'PRIMARY KEY', classification: 'internal' },
      { name: 'client_id', data_type: 'int', description: 'FOREIGN KEY → clients.client_id', classification: 'internal' },
      { name: 'account_type_id', data_type: 'int', description: 'FOREIGN KEY → account_types.account_type_id', classification: 'internal' },
      { name: 'account_number', data_type: 'varchar', description: 'UNIQUE INDEX', classification: 'restricted', pii_type: 'account_number', masking_rule: 'redact' },
      { name: 'account_opening_date', data_type: 'date', description: "Seed name garbled as 'account_відкриття_date' ('відкриття' is Ukrainian for 'opening'); assumed to be the account opening date, pending confirmation", classification: 'internal' },
      { name: 'account_balance', data_type: 'decimal', classification: 'confidential' },
      { name: 'account_status', data_type: 'varchar', classification: 'confidential' },
    ],
  },
  {
    store: 'aurora',
    database: 'wealth',
    table: 'account_types',
    description: 'Reference list of account types offered by the division.',
    domain: 'Account',
    columns: [
      { name: 'account_type_id', data_type: 'int', description: 'PRIMARY KEY', classification: 'internal' },
      { name: 'account_type_name', data_type: 'varchar', classification: 'internal' },
      { name: 'account_type_description', data_type: 'text', classification: 'internal' },
    ],
  },
  {
    store: 'aurora',
    database: 'wealth',
    table: 'account_status_history',
    description: 'History of status changes of each account, with validity dates.',
    domain: 'Account',
    retention_policy: 'client-data',
    columns: [
      { name: 'status_history_id', data_type: 'int', description: 'PRIMARY KEY', classification: 'internal' },
      { name: 'account_id', data_type: 'int', description: 'FOREIGN KEY → accounts.account_id', classification: 'internal' },
      { name: 'status', data_type: 'varchar', classification: 'confidential' },
      { name: 'start_date', data_type: 'date', classification: 'internal' },
      { name: 'end_date', data_type: 'date', classification: 'internal' },
    ],
  },
  {
    store: 'aurora',
    database: 'wealth',
    table: 'account_permissions',
    description: 'Permissions granted to employees on each account.',
    domain: 'Account',
    retention_policy: 'client-data',
    columns: [
      { name: 'permission_id', data_type: 'int', description: 'PRIMARY KEY', classification: 'internal' },
      { name: 'account_id', data_type: 'int', description: 'FOREIGN KEY → accounts.account_id', classification: 'internal' },
      { name: 'user_id', data_type: 'int', description: 'FOREIGN KEY → employees.employee_id', classification: 'internal' },
      { name: 'permission_type', data_type: 'varchar', classification: 'internal' },
    ],
  },
  {
    store: 'aurora',
    database: 'wealth',
    table: 'account_fees',
    description: 'Fees charged to each account.',
    domain: 'Account',
    retention_policy: 'transaction-data',
    columns: [
      { name: 'fee_id', data_type: 'int', description: 'PRIMARY KEY', classification: 'internal' },
      { name: 'account_id', data_type: 'int', description: 'FOREIGN KEY → accounts.account_id', classification: 'internal' },
      { name: 'fee_type', data_type: 'varchar', classification: 'internal' },
      { name: 'fee_amount', data_type: 'decimal', classification: 'confidential' },
      { name: 'fee_date', data_type: 'date', classification: 'internal' },
    ],
  },
  {
    store: 'aurora',
    database: 'wealth',
    table: 'account_statements',
    description: 'Metadata of account statements whose files are stored in S3.',
    domain: 'Account',
    retention_policy: 'document-data',
    columns: [
      { name: 'statement_id', data_type: 'int', description: 'PRIMARY KEY', classification: 'internal' },
      { name: 'account_id', data_type: 'int', description: 'FOREIGN KEY → accounts.account_id', classification: 'internal' },
      { name: 'statement_date', data_type: 'date', classification: 'internal' },
      { name: 's3_location', data_type: 'varchar', classification: 'confidential' },
    ],
  },
  {
    store: 'aurora',
    database: 'wealth',
    table: 'account_transfers',
    description: 'Transfers of funds between accounts.',
    domain: 'Account',
    retention_policy: 'transaction-data',
    columns: [
      { name: 'transfer_id', data_type: 'int', description: 'PRIMARY KEY', classification: 'internal' },
      { name: 'from_account_id', data_type: 'int', description: 'FOREIGN KEY → accounts.account_id', classification: 'internal' },
      { name: 'to_account_id', data_type: 'int', description: 'FOREIGN KEY → accounts.account_id', classification: 'internal' },
      { name: 'transfer_amount', data_type: 'decimal', classification: 'confidential' },
      { name: 'transfer_date', data_type: 'date', classification: 'internal' },
    ],
  },
  {
    store: 'aurora',
    database: 'wealth',
    table: 'external_accounts',
    description: 'Accounts held at other institutions and linked to client accounts.',
    domain: 'Account',
    retention_policy: 'client-data',
    columns: [
      { name: 'external_account_id', data_type: 'int', description: 'PRIMARY KEY', classification: 'internal' },
      { name: 'account_id', data_type: 'int', description: 'FOREIGN KEY → accounts.account_id', classification: 'internal' },
      { name: 'institution_name', data_type: 'varchar', classification: 'confidential' },
      { name: 'external_account_number', data_type: 'varchar', classification: 'restricted', pii_type: 'account_number', masking_rule: 'redact' },
    ],
  },

  // ---------------------------------------------------------------------
  // 4.3 Investment Domain (PostgreSQL Aurora)
  // ---------------------------------------------------------------------
  {
    store: 'aurora',
    database: 'wealth',
    table: 'portfolios',
    description: 'Client investment portfolios with their name and objective.',
    domain: 'Investment',
    retention_policy: 'client-data',
    columns: [
      { name: 'portfolio_id', data_type: 'int', description: 'PRIMARY KEY', classification: 'internal' },
      { name: 'client_id', data_type: 'int', description: 'FOREIGN KEY → clients.client_id', classification: 'internal' },
      { name: 'portfolio_name', data_type: 'varchar', classification: 'confidential' },
      { name: 'portfolio_objective', data_type: 'text', classification: 'confidential' },
      { name: 'created_date', data_type: 'date', classification: 'internal' },
    ],
  },
  {
    store: 'aurora',
    database: 'wealth',
    table: 'investment_models',
    description: 'Reference list of model portfolios used to manage client assets.',
    domain: 'Investment',
    columns: [
      { name: 'model_id', data_type: 'int', description: 'PRIMARY KEY', classification: 'internal' },
      { name: 'model_name', data_type: 'varchar', classification: 'internal' },
      { name: 'model_description', data_type: 'text', classification: 'internal' },
    ],
  },
  {
    store: 'aurora',
    database: 'wealth',
    table: 'model_allocations',
    description: 'Target allocation of each investment model across securities.',
    domain: 'Investment',
    columns: [
      { name: 'allocation_id', data_type: 'int', description: 'PRIMARY KEY', classification: 'internal' },
      { name: 'model_id', data_type: 'int', description: 'FOREIGN KEY → investment_models.model_id', classification: 'internal' },
      { name: 'security_id', data_type: 'int', description: 'FOREIGN KEY → securities_master.security_id', classification: 'internal' },
      { name: 'target_percentage', data_type: 'decimal', classification: 'internal' },
    ],
  },
  {
    store: 'aurora',
    database: 'wealth',
    table: 'portfolio_holdings',
    description: 'Securities held in each portfolio, with quantity and purchase details.',
    domain: 'Investment',
    retention_policy: 'client-data',
    columns: [
      { name: 'holding_id', data_type: 'int', description: 'PRIMARY KEY', classification: 'internal' },
      { name: 'portfolio_id', data_type: 'int', description: 'FOREIGN KEY → portfolios.portfolio_id', classification: 'internal' },
      { name: 'security_id', data_type: 'int', description: 'FOREIGN KEY → securities_master.security_id', classification: 'internal' },
      { name: 'quantity', data_type: 'decimal', classification: 'confidential' },
      { name: 'purchase_date', data_type: 'date', classification: 'internal' },
      { name: 'purchase_price', data_type: 'decimal', classification: 'confidential' },
    ],
  },
  {
    store: 'aurora',
    database: 'wealth',
    table: 'transactions',
    description: 'Security transactions executed on client accounts.',
    domain: 'Investment',
    retention_policy: 'transaction-data',
    columns: [
      { name: 'transaction_id', data_type: 'int', description: 'PRIMARY KEY', classification: 'internal' },
      { name: 'account_id', data_type: 'int', description: 'FOREIGN KEY → accounts.account_id', classification: 'internal' },
      { name: 'security_id', data_type: 'int', description: 'FOREIGN KEY → securities_master.security_id', classification: 'internal' },
      { name: 'transaction_type', data_type: 'varchar', classification: 'internal' },
      { name: 'transaction_date', data_type: 'date', classification: 'internal' },
      { name: 'quantity', data_type: 'decimal', classification: 'confidential' },
      { name: 'price', data_type: 'decimal', classification: 'confidential' },
      { name: 'amount', data_type: 'decimal', classification: 'confidential' },
    ],
  },
  {
    store: 'aurora',
    database: 'wealth',
    table: 'securities_master',
    description: 'Reference data of the securities the division can trade and hold.',
    domain: 'Investment',
    columns: [
      { name: 'security_id', data_type: 'int', description: 'PRIMARY KEY', classification: 'public' },
      { name: 'ticker_symbol', data_type: 'varchar', description: 'UNIQUE INDEX', classification: 'public' },
      { name: 'security_name', data_type: 'varchar', classification: 'public' },
      { name: 'security_type', data_type: 'varchar', classification: 'public' },
    ],
  },
  {
    store: 'aurora',
    database: 'wealth',
    table: 'price_history',
    description: 'Daily market prices of each security.',
    domain: 'Investment',
    retention_policy: 'performance-data',
    columns: [
      { name: 'price_history_id', data_type: 'bigint', description: 'PRIMARY KEY', classification: 'public' },
      { name: 'security_id', data_type: 'int', description: 'FOREIGN KEY → securities_master.security_id', classification: 'public' },
      { name: 'price_date', data_type: 'date', classification: 'public' },
      { name: 'price', data_type: 'decimal', classification: 'public' },
    ],
  },
  {
    store: 'aurora',
    database: 'wealth',
    table: 'performance_metrics',
    description: 'Dated performance metrics computed for each portfolio.',
    domain: 'Investment',
    retention_policy: 'performance-data',
    columns: [
      { name: 'metric_id', data_type: 'int', description: 'PRIMARY KEY', classification: 'internal' },
      { name: 'portfolio_id', data_type: 'int', description: 'FOREIGN KEY → portfolios.portfolio_id', classification: 'internal' },
      { name: 'metric_type', data_type: 'varchar', classification: 'internal' },
      { name: 'metric_value', data_type: 'decimal', classification: 'confidential' },
      { name: 'metric_date', data_type: 'date', classification: 'internal' },
    ],
  },
  {
    store: 'aurora',
    database: 'wealth',
    table: 'rebalancing_activities',
    description: 'Portfolio rebalancing activities; the seed document is truncated here and lists no columns beyond activity_id.',
    domain: 'Investment',
    retention_policy: 'client-data',
    columns: [
      { name: 'activity_id', data_type: 'int', description: 'PRIMARY KEY', classification: 'internal' },
    ],
  },

  // ---------------------------------------------------------------------
  // 4.4 DynamoDB Tables (Investment domain)
  // ---------------------------------------------------------------------
  {
    store: 'dynamodb',
    database: 'wealth',
    table: 'investment_transactions',
    description: 'High-volume investment transactions on client accounts, kept in DynamoDB.',
    domain: 'Investment',
    retention_policy: 'transaction-data',
    columns: [
      { name: 'transaction_id', data_type: 'int', description: 'PRIMARY KEY', classification: 'internal' },
      { name: 'account_id', data_type: 'int', description: 'FOREIGN KEY → accounts.account_id', classification: 'internal' },
      { name: 'security_id', data_type: 'int', description: 'FOREIGN KEY → securities_master.security_id', classification: 'internal' },
      { name: 'transaction_type', data_type: 'varchar', classification: 'internal' },
      { name: 'transaction_date', data_type: 'date', classification: 'internal' },
      { name: 'quantity', data_type: 'decimal', classification: 'confidential' },
      { name: 'price', data_type: 'decimal', classification: 'confidential' },
      { name: 'amount', data_type: 'decimal', classification: 'confidential' },
    ],
  },

  // ---------------------------------------------------------------------
  // Section 2, Layer 1: S3 storage for the actual documents
  // ---------------------------------------------------------------------
  {
    store: 's3',
    database: 'wealth-client-documents',
    table: 'client-documents/',
    description: 'Files of client documents referenced by client_documents.s3_location.',
    domain: 'Document Management',
    retention_policy: 'document-data',
    location: 's3://wealth-client-documents/client-documents/',
    columns: [
      { name: 'object_key', data_type: 'varchar', classification: 'internal' },
      { name: 'content', data_type: 'blob', classification: 'confidential' },
    ],
  },
  {
    store: 's3',
    database: 'wealth-account-statements',
    table: 'statements/',
    description: 'Files of account statements referenced by account_statements.s3_location.',
    domain: 'Account',
    retention_policy: 'document-data',
    location: 's3://wealth-account-statements/statements/',
    columns: [
      { name: 'object_key', data_type: 'varchar', classification: 'internal' },
      { name: 'content', data_type: 'blob', classification: 'confidential' },
    ],
  },
];
