/** The room-state tables. Idempotent: run at every open. */
export const STATE_SCHEMA: readonly string[] = [
  `CREATE TABLE IF NOT EXISTS acceptances (
     collaboration VARCHAR NOT NULL, policy_hash VARCHAR NOT NULL, member VARCHAR NOT NULL,
     principal VARCHAR NOT NULL, signature VARCHAR NOT NULL, accepted_at TIMESTAMPTZ NOT NULL,
     PRIMARY KEY (collaboration, policy_hash, member))`,
  // Every policy document the room has served, by content hash: what an officer accepted stays readable
  // after the file changes, so the console can say what changed since.
  `CREATE TABLE IF NOT EXISTS policy_versions (
     collaboration VARCHAR NOT NULL, policy_hash VARCHAR NOT NULL, document VARCHAR NOT NULL,
     first_served_at TIMESTAMPTZ NOT NULL, PRIMARY KEY (collaboration, policy_hash))`,
  `CREATE TABLE IF NOT EXISTS storage_keys (
     collaboration VARCHAR NOT NULL, dataset VARCHAR NOT NULL, wrapped_key VARCHAR NOT NULL,
     PRIMARY KEY (collaboration, dataset))`,
  `CREATE TABLE IF NOT EXISTS dataset_versions (
     collaboration VARCHAR NOT NULL, dataset VARCHAR NOT NULL, version INTEGER NOT NULL,
     envelope_file VARCHAR NOT NULL, envelope_sha256 VARCHAR NOT NULL UNIQUE,
     manifest VARCHAR NOT NULL, signature VARCHAR NOT NULL, signer VARCHAR NOT NULL,
     format VARCHAR NOT NULL, row_count BIGINT NOT NULL, plaintext_bytes BIGINT NOT NULL,
     wrapped_data_key VARCHAR NOT NULL, uploaded_at TIMESTAMPTZ NOT NULL,
     PRIMARY KEY (collaboration, dataset, version))`,
  // Retention and deletion: a deleted version keeps its row (what was held, for the audit trail)
  // with its wrapped data key erased; its envelope is gone.
  `ALTER TABLE dataset_versions ADD COLUMN IF NOT EXISTS deleted_at TIMESTAMPTZ`,
  `CREATE TABLE IF NOT EXISTS templates (
     collaboration VARCHAR NOT NULL, name VARCHAR NOT NULL, hash VARCHAR NOT NULL,
     document VARCHAR NOT NULL, proposed_by VARCHAR NOT NULL, proposed_at TIMESTAMPTZ NOT NULL,
     PRIMARY KEY (collaboration, hash))`,
  `CREATE TABLE IF NOT EXISTS extract_templates (
     collaboration VARCHAR NOT NULL, name VARCHAR NOT NULL, hash VARCHAR NOT NULL,
     document VARCHAR NOT NULL, proposed_by VARCHAR NOT NULL, proposed_at TIMESTAMPTZ NOT NULL,
     PRIMARY KEY (collaboration, hash))`,
  `CREATE TABLE IF NOT EXISTS model_templates (
     collaboration VARCHAR NOT NULL, name VARCHAR NOT NULL, hash VARCHAR NOT NULL,
     document VARCHAR NOT NULL, proposed_by VARCHAR NOT NULL, proposed_at TIMESTAMPTZ NOT NULL,
     PRIMARY KEY (collaboration, hash))`,
  `CREATE TABLE IF NOT EXISTS extracts (
     collaboration VARCHAR NOT NULL, id VARCHAR NOT NULL, template VARCHAR NOT NULL,
     template_hash VARCHAR NOT NULL, dataset VARCHAR NOT NULL, data_version INTEGER NOT NULL,
     recipient VARCHAR NOT NULL, requested_by VARCHAR NOT NULL, levels VARCHAR NOT NULL,
     report VARCHAR NOT NULL, file VARCHAR NOT NULL, file_sha256 VARCHAR NOT NULL,
     created_at TIMESTAMPTZ NOT NULL, PRIMARY KEY (collaboration, id))`,
  `CREATE TABLE IF NOT EXISTS models (
     collaboration VARCHAR NOT NULL, audit_seq INTEGER NOT NULL, template VARCHAR NOT NULL,
     dataset VARCHAR NOT NULL, recipient VARCHAR NOT NULL, dp BOOLEAN NOT NULL, card VARCHAR NOT NULL,
     created_at TIMESTAMPTZ NOT NULL, PRIMARY KEY (collaboration, audit_seq))`,
  `CREATE TABLE IF NOT EXISTS template_reviews (
     collaboration VARCHAR NOT NULL, template_hash VARCHAR NOT NULL, member VARCHAR NOT NULL,
     principal VARCHAR NOT NULL, decision VARCHAR NOT NULL, reason VARCHAR, signature VARCHAR NOT NULL,
     reviewed_at TIMESTAMPTZ NOT NULL,
     PRIMARY KEY (collaboration, template_hash, member))`,
  `CREATE TABLE IF NOT EXISTS budget_charges (
     charge_id VARCHAR PRIMARY KEY, collaboration VARCHAR NOT NULL, analyst_member VARCHAR NOT NULL,
     dataset VARCHAR NOT NULL, period_start VARCHAR NOT NULL, epsilon DOUBLE NOT NULL, delta DOUBLE NOT NULL,
     charged_at TIMESTAMPTZ NOT NULL)`,
  `CREATE TABLE IF NOT EXISTS psi_sessions_opened (
     collaboration VARCHAR NOT NULL, server_member VARCHAR NOT NULL, client_member VARCHAR NOT NULL,
     day VARCHAR NOT NULL, opened INTEGER NOT NULL,
     PRIMARY KEY (collaboration, server_member, client_member, day))`,
  `CREATE TABLE IF NOT EXISTS psi_epsilon_spent (
     collaboration VARCHAR NOT NULL, server_member VARCHAR NOT NULL, client_member VARCHAR NOT NULL,
     epsilon DOUBLE NOT NULL, sessions INTEGER NOT NULL,
     PRIMARY KEY (collaboration, server_member, client_member))`,
  `CREATE TABLE IF NOT EXISTS audit_log (
     collaboration VARCHAR NOT NULL, seq BIGINT NOT NULL, "at" VARCHAR NOT NULL, actor VARCHAR NOT NULL,
     action VARCHAR NOT NULL, details VARCHAR NOT NULL, prev_hash VARCHAR NOT NULL,
     hash VARCHAR NOT NULL, signature VARCHAR NOT NULL, PRIMARY KEY (collaboration, seq))`,
];
