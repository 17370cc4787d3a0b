-- +goose Up
CREATE TABLE realms (
    id               text PRIMARY KEY CHECK (id ~ '^[a-z0-9][a-z0-9-]{0,62}$'),
    name             text NOT NULL,
    default_language text NOT NULL,
    created_at       timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE languages (
    realm_id   text NOT NULL REFERENCES realms (id) ON DELETE CASCADE,
    code       text NOT NULL CHECK (code ~ '^[A-Za-z]{2,8}(-[A-Za-z0-9]{1,8})*$'),
    name       text NOT NULL CHECK (length(name) BETWEEN 1 AND 512),
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (realm_id, code)
);
CREATE UNIQUE INDEX languages_code_ci ON languages (realm_id, lower(code));

-- The realm's default language must exist. Checked at once, so that deleting
-- it fails at the statement; a new realm and its first language can still be
-- created together after SET CONSTRAINTS realms_default_language_fk DEFERRED.
ALTER TABLE realms ADD CONSTRAINT realms_default_language_fk
    FOREIGN KEY (id, default_language) REFERENCES languages (realm_id, code) DEFERRABLE INITIALLY IMMEDIATE;

CREATE TABLE users (
    id                  uuid PRIMARY KEY,
    realm_id            text NOT NULL REFERENCES realms (id) ON DELETE CASCADE,
    username            text NOT NULL CHECK (length(username) BETWEEN 1 AND 256),
    email               text NOT NULL DEFAULT '' CHECK (length(email) <= 254),
    display_name        text NOT NULL DEFAULT '' CHECK (length(display_name) <= 512),
    language            text NOT NULL,
    status              text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'disabled')),
    -- The password verifier: the client-side KDF's parameters and the
    -- server-side argon2id hash of its result. All or nothing: a user
    -- without a password cannot log in with one.
    password_kdf        text,
    password_iterations integer CHECK (password_iterations > 0),
    password_salt       bytea CHECK (length(password_salt) BETWEEN 8 AND 64),
    password_hash       text,
    created_at          timestamptz NOT NULL DEFAULT now(),
    updated_at          timestamptz NOT NULL DEFAULT now(),
    UNIQUE (realm_id, id),
    FOREIGN KEY (realm_id, language) REFERENCES languages (realm_id, code),
    CHECK ((password_kdf IS NULL) = (password_iterations IS NULL)
       AND (password_kdf IS NULL) = (password_salt IS NULL)
       AND (password_kdf IS NULL) = (password_hash IS NULL))
);
CREATE UNIQUE INDEX users_username_ci ON users (realm_id, lower(username));
CREATE INDEX users_email_ci ON users (realm_id, lower(email)) WHERE email <> '';
CREATE INDEX users_language ON users (realm_id, language);

CREATE TABLE resources (
    realm_id    text NOT NULL REFERENCES realms (id) ON DELETE CASCADE,
    -- An OAuth scope-token (RFC 6749 §3.3): it travels as a token scope.
    name        text NOT NULL CHECK (name ~ '^[\x21\x23-\x5B\x5D-\x7E]{1,64}$'),
    description text NOT NULL DEFAULT '' CHECK (length(description) <= 512),
    built_in    boolean NOT NULL DEFAULT false,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (realm_id, name)
);

CREATE TABLE groups (
    id            uuid PRIMARY KEY,
    realm_id      text NOT NULL REFERENCES realms (id) ON DELETE CASCADE,
    name          text NOT NULL CHECK (length(name) BETWEEN 1 AND 256),
    description   text NOT NULL DEFAULT '' CHECK (length(description) <= 512),
    -- Grants every resource of the realm, present and future: the one
    -- wildcard, held by the built-in administrators group.
    all_resources boolean NOT NULL DEFAULT false,
    built_in      boolean NOT NULL DEFAULT false,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    UNIQUE (realm_id, id)
);
CREATE UNIQUE INDEX groups_name_ci ON groups (realm_id, lower(name));

CREATE TABLE group_members (
    realm_id text NOT NULL,
    group_id uuid NOT NULL,
    user_id  uuid NOT NULL,
    PRIMARY KEY (group_id, user_id),
    FOREIGN KEY (realm_id, group_id) REFERENCES groups (realm_id, id) ON DELETE CASCADE,
    FOREIGN KEY (realm_id, user_id) REFERENCES users (realm_id, id) ON DELETE CASCADE
);
-- The token endpoint looks memberships up by user.
CREATE INDEX group_members_user ON group_members (user_id);

CREATE TABLE group_resources (
    realm_id text NOT NULL,
    group_id uuid NOT NULL,
    resource text NOT NULL,
    PRIMARY KEY (group_id, resource),
    FOREIGN KEY (realm_id, group_id) REFERENCES groups (realm_id, id) ON DELETE CASCADE,
    FOREIGN KEY (realm_id, resource) REFERENCES resources (realm_id, name) ON DELETE CASCADE
);

CREATE TABLE clients (
    realm_id                   text NOT NULL REFERENCES realms (id) ON DELETE CASCADE,
    client_id                  text NOT NULL CHECK (length(client_id) BETWEEN 1 AND 128),
    owner_id                   uuid NOT NULL,
    name                       text NOT NULL CHECK (length(name) BETWEEN 1 AND 512),
    all_scopes                 boolean NOT NULL DEFAULT false,
    grant_types                text[] NOT NULL DEFAULT '{}'
        CHECK (grant_types <@ ARRAY['client_credentials', 'password', 'refresh_token', 'authorization_code']::text[]),
    token_endpoint_auth_method text NOT NULL DEFAULT 'client_secret_basic'
        CHECK (token_endpoint_auth_method IN ('client_secret_basic', 'client_secret_post', 'private_key_jwt', 'none')),
    jwks                       jsonb,
    access_token_ttl           integer CHECK (access_token_ttl > 0),
    refresh_token_ttl          integer CHECK (refresh_token_ttl > 0),
    status                     text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'disabled')),
    created_at                 timestamptz NOT NULL DEFAULT now(),
    updated_at                 timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (realm_id, client_id),
    -- A client never outlives its owner.
    FOREIGN KEY (realm_id, owner_id) REFERENCES users (realm_id, id) ON DELETE CASCADE,
    CHECK (token_endpoint_auth_method <> 'private_key_jwt' OR jwks IS NOT NULL)
);
CREATE INDEX clients_owner ON clients (realm_id, owner_id);

-- The admin resources a client may request (its allowed scopes).
CREATE TABLE client_resources (
    realm_id  text NOT NULL,
    client_id text NOT NULL,
    resource  text NOT NULL,
    PRIMARY KEY (realm_id, client_id, resource),
    FOREIGN KEY (realm_id, client_id) REFERENCES clients (realm_id, client_id) ON DELETE CASCADE,
    FOREIGN KEY (realm_id, resource) REFERENCES resources (realm_id, name) ON DELETE CASCADE
);

CREATE TABLE client_secrets (
    id             uuid PRIMARY KEY,
    realm_id       text NOT NULL,
    client_id      text NOT NULL,
    -- V = SHA-256(W); W itself is never stored.
    verifier       bytea NOT NULL CHECK (length(verifier) = 32),
    created_at     timestamptz NOT NULL DEFAULT now(),
    deactivated_at timestamptz,
    last_used_at   timestamptz,
    FOREIGN KEY (realm_id, client_id) REFERENCES clients (realm_id, client_id) ON DELETE CASCADE
);
-- The token endpoint reads a client's active secret versions.
CREATE INDEX client_secrets_active ON client_secrets (realm_id, client_id) WHERE deactivated_at IS NULL;

CREATE TABLE signing_keys (
    realm_id              text NOT NULL REFERENCES realms (id) ON DELETE CASCADE,
    kid                   text NOT NULL,
    algorithm             text NOT NULL CHECK (algorithm IN ('ES256', 'RS256', 'EdDSA')),
    -- AES-256-GCM under a key derived from keys.encryption_secret.
    private_key_encrypted bytea NOT NULL,
    public_jwk            jsonb NOT NULL,
    state                 text NOT NULL CHECK (state IN ('next', 'active', 'retired')),
    created_at            timestamptz NOT NULL DEFAULT now(),
    activated_at          timestamptz,
    retired_at            timestamptz,
    PRIMARY KEY (realm_id, kid),
    CHECK (state <> 'retired' OR retired_at IS NOT NULL)
);
-- At most one active key per realm.
CREATE UNIQUE INDEX signing_keys_one_active ON signing_keys (realm_id) WHERE state = 'active';

CREATE TABLE audit_log (
    id          uuid PRIMARY KEY,
    realm_id    text NOT NULL REFERENCES realms (id) ON DELETE CASCADE,
    seq         bigint GENERATED ALWAYS AS IDENTITY,
    time        timestamptz NOT NULL DEFAULT now(),
    actor_type  text NOT NULL CHECK (actor_type IN ('user', 'client', 'system')),
    actor_id    text NOT NULL,
    action      text NOT NULL,
    target_type text NOT NULL,
    target_id   text NOT NULL,
    -- Never secrets, hashes, salts or verifiers.
    details     jsonb
);
CREATE INDEX audit_log_realm_seq ON audit_log (realm_id, seq DESC);
CREATE INDEX audit_log_actor ON audit_log (realm_id, actor_id, seq DESC);
CREATE INDEX audit_log_target ON audit_log (realm_id, target_id, seq DESC);
CREATE INDEX audit_log_time ON audit_log (realm_id, time);

-- What every realm starts with: the realm, English, the built-in resources and the
-- administrators group.
SET CONSTRAINTS realms_default_language_fk DEFERRED;
INSERT INTO realms (id, name, default_language) VALUES ('default', 'Default', 'en');
INSERT INTO languages (realm_id, code, name) VALUES ('default', 'en', 'English');
INSERT INTO resources (realm_id, name, description, built_in) VALUES
    ('default', 'users-read', 'Read users', true),
    ('default', 'users-write', 'Create, change and delete users', true),
    ('default', 'groups-read', 'Read groups', true),
    ('default', 'groups-write', 'Create, change and delete groups and memberships', true),
    ('default', 'resources-read', 'Read admin resources', true),
    ('default', 'resources-write', 'Create, change and delete admin resources', true),
    ('default', 'clients-read', 'Read API clients', true),
    ('default', 'clients-write', 'Create, change and delete API clients and their secrets', true),
    ('default', 'languages-read', 'Read user languages', true),
    ('default', 'languages-write', 'Create, change and delete user languages', true),
    ('default', 'tokens-revoke', 'Revoke every token of a user or client', true),
    ('default', 'tokens-introspect', 'Introspect any token of the realm', true),
    ('default', 'audit-read', 'Read the audit log', true),
    ('default', 'admin-login', 'Sign in to the admin console', true);
INSERT INTO groups (id, realm_id, name, description, all_resources, built_in) VALUES
    (gen_random_uuid(), 'default', 'administrators', 'Every admin resource of the realm', true, true);

-- +goose Down
DROP TABLE audit_log, signing_keys, client_secrets, client_resources, clients,
    group_resources, group_members, groups, resources, users;
ALTER TABLE realms DROP CONSTRAINT realms_default_language_fk;
DROP TABLE languages, realms;
