-- Access: users with a role and the localities they may see, and an append-only audit log.
-- The app only ever INSERTs into audit_log (no page edits or deletes it).

CREATE TABLE users (
    username VARCHAR PRIMARY KEY,      -- lower case; for OIDC users, the e-mail address
    display_name VARCHAR,
    role VARCHAR NOT NULL,             -- admin | staff | manager | viewer
    password_hash VARCHAR,             -- bcrypt; NULL for users who sign in only through OIDC
    email VARCHAR,                     -- lower case; maps an OIDC sign-in to this user
    all_localities BOOLEAN NOT NULL DEFAULT false,  -- admin and staff always see all
    created_at TIMESTAMP NOT NULL,
    disabled BOOLEAN NOT NULL DEFAULT false
);

CREATE TABLE user_localities (
    username VARCHAR NOT NULL,
    authority_code INTEGER NOT NULL,
    PRIMARY KEY (username, authority_code)
);

CREATE SEQUENCE IF NOT EXISTS audit_seq START 1;
CREATE TABLE audit_log (
    id BIGINT PRIMARY KEY DEFAULT nextval('audit_seq'),
    logged_at TIMESTAMP NOT NULL DEFAULT current_timestamp,
    username VARCHAR NOT NULL,
    action VARCHAR NOT NULL,           -- upload | rollback | target | user | export | sign_in | ...
    target VARCHAR,
    details JSON
);

-- Which authorities each import batch wrote rows for: scopes the import history and rollbacks.
CREATE TABLE batch_authorities (
    batch_id INTEGER NOT NULL,
    authority_code INTEGER NOT NULL,
    PRIMARY KEY (batch_id, authority_code)
);
INSERT INTO batch_authorities
SELECT DISTINCT batch_id, authority_code FROM (
    SELECT batch_id, authority_code FROM programs
    UNION ALL SELECT batch_id, authority_code FROM meetings
    UNION ALL SELECT batch_id, authority_code FROM partnerships
    UNION ALL SELECT batch_id, authority_code FROM volunteers
    UNION ALL SELECT batch_id, authority_code FROM trainings
    UNION ALL SELECT batch_id, authority_code FROM budgets
    UNION ALL SELECT batch_id, authority_code FROM clusters
    UNION ALL SELECT batch_id, authority_code FROM locality_attributes
    UNION ALL SELECT batch_id, authority_code FROM targets WHERE batch_id IS NOT NULL
) WHERE authority_code IS NOT NULL;
