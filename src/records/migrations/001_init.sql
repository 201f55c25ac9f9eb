-- Records of what the service told clinicians and how they reacted (issue 5).
-- Portable SQL: the same file runs on SQLite and PostgreSQL. Instants are ISO-8601 UTC text
-- (they sort as text); lists are JSON text. Ids and codes only: no resources, no names.

-- One row per coverage-information repetition returned (CRD: coverage-assertion-id must be
-- traceable when the claim or prior-authorization request arrives). Repetitions for the same
-- Coverage in one call share the assertion id, hence the sequence number.
CREATE TABLE coverage_assertions (
  assertion_id   TEXT NOT NULL,
  seq            INTEGER NOT NULL,
  service_id     TEXT NOT NULL,
  hook           TEXT NOT NULL,
  hook_instance  TEXT NOT NULL,
  order_ref      TEXT NOT NULL,
  order_sha256   TEXT NOT NULL,
  coverage_ref   TEXT NOT NULL,
  payer_id       TEXT NOT NULL,
  policy_id      TEXT NOT NULL,
  policy_version TEXT NOT NULL,
  rule_id        TEXT NOT NULL,
  covered        TEXT NOT NULL,
  pa_needed      TEXT,
  info_needed    TEXT NOT NULL,
  billing_code   TEXT,
  asserted_on    TEXT NOT NULL,
  recorded_at    TEXT NOT NULL,
  iss            TEXT,
  tenant         TEXT,
  PRIMARY KEY (assertion_id, seq)
);
CREATE INDEX coverage_assertions_hook_instance ON coverage_assertions (hook_instance);

-- Every card returned, with the determination behind it, so feedback (which names only the card
-- uuid) can be counted by payer, policy rule and determination.
CREATE TABLE cards (
  card_id        TEXT PRIMARY KEY,
  service_id     TEXT NOT NULL,
  hook_instance  TEXT NOT NULL,
  assertion_id   TEXT NOT NULL,
  coverage_ref   TEXT NOT NULL,
  payer_id       TEXT NOT NULL,
  policy_id      TEXT NOT NULL,
  policy_version TEXT NOT NULL,
  rule_id        TEXT NOT NULL,
  covered        TEXT NOT NULL,
  pa_needed      TEXT,
  issued_at      TEXT NOT NULL
);

-- CDS Hooks 2.0 feedback, one row per entry received.
CREATE TABLE feedback (
  feedback_id          TEXT PRIMARY KEY,
  service_id           TEXT NOT NULL,
  card_id              TEXT NOT NULL,
  outcome              TEXT NOT NULL,
  accepted_suggestions TEXT NOT NULL,
  override_system      TEXT,
  override_code        TEXT,
  override_display     TEXT,
  override_comment     TEXT,
  outcome_at           TEXT NOT NULL,
  received_at          TEXT NOT NULL,
  iss                  TEXT,
  tenant               TEXT
);
CREATE INDEX feedback_card ON feedback (card_id);
CREATE INDEX feedback_received_at ON feedback (received_at);

-- Every hook call and its answer (CRD: both sides SHALL log every CRD call for disputes).
CREATE TABLE audit_log (
  audit_id       TEXT PRIMARY KEY,
  at             TEXT NOT NULL,
  request_id     TEXT,
  iss            TEXT,
  tenant         TEXT,
  jti            TEXT,
  service_id     TEXT,
  hook           TEXT,
  hook_instance  TEXT,
  status         INTEGER NOT NULL,
  latency_ms     DOUBLE PRECISION NOT NULL,
  orders         TEXT NOT NULL,
  determinations TEXT NOT NULL,
  assertion_ids  TEXT NOT NULL,
  problem        TEXT,
  request_body   TEXT,
  response_body  TEXT
);
CREATE INDEX audit_log_at ON audit_log (at);

-- The jti of every accepted client JWT until its token expires, shared by all instances.
CREATE TABLE jti_replay (
  jti_key    TEXT PRIMARY KEY,
  expires_at BIGINT NOT NULL
);
CREATE INDEX jti_replay_expires_at ON jti_replay (expires_at);
