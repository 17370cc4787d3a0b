-- +goose Up
-- Browser sign-in (authorization code flow, OpenID Connect): what a client
-- registers for it, and the consents users give third-party clients.

-- Redirect URIs are absolute URIs compared exactly (RFC 6749 §3.1.2;
-- RFC 8252 §7.3 for loopback ports), stored sorted. pkce_optional lets a
-- legacy confidential relying party skip PKCE (RFC 7636); a public client
-- always needs it. skip_consent marks a first-party client.
ALTER TABLE clients
    ADD COLUMN redirect_uris             text[]  NOT NULL DEFAULT '{}',
    ADD COLUMN post_logout_redirect_uris text[]  NOT NULL DEFAULT '{}',
    ADD COLUMN pkce_optional             boolean NOT NULL DEFAULT false,
    ADD COLUMN skip_consent              boolean NOT NULL DEFAULT false,
    ADD CONSTRAINT clients_public_pkce CHECK (NOT pkce_optional OR token_endpoint_auth_method <> 'none');

-- One consent per user and client: the scopes the user allowed the
-- client, sorted and without duplicates. It ends with the user or the
-- client.
CREATE TABLE consents (
    realm_id   text   NOT NULL,
    user_id    uuid   NOT NULL,
    client_id  text   NOT NULL,
    scopes     text[] NOT NULL DEFAULT '{}',
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (realm_id, user_id, client_id),
    FOREIGN KEY (realm_id, user_id) REFERENCES users (realm_id, id) ON DELETE CASCADE,
    FOREIGN KEY (realm_id, client_id) REFERENCES clients (realm_id, client_id) ON DELETE CASCADE
);
-- Deleting a client finds its consents by client.
CREATE INDEX consents_client ON consents (realm_id, client_id);

-- +goose Down
DROP TABLE consents;
ALTER TABLE clients
    DROP CONSTRAINT clients_public_pkce,
    DROP COLUMN skip_consent,
    DROP COLUMN pkce_optional,
    DROP COLUMN post_logout_redirect_uris,
    DROP COLUMN redirect_uris;
