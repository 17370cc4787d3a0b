-- +goose Up
-- Accounts by e-mail (docs/accounts.md): verified addresses, link tokens,
-- invitations and the outbox of mails.

-- Set when the person proved they read mail at the address (an
-- activation or invitation link reached them there); the ID token's
-- email_verified claim says so.
ALTER TABLE users ADD COLUMN email_verified boolean NOT NULL DEFAULT false;

-- An invitation to join groups, by e-mail address. Groups are ids without
-- a foreign key: one deleted meanwhile is skipped at acceptance. The
-- invitation carries its inviter's power, so it ends with the inviter.
CREATE TABLE invitations (
    id              uuid PRIMARY KEY,
    realm_id        text NOT NULL REFERENCES realms (id) ON DELETE CASCADE,
    email           text NOT NULL CHECK (length(email) BETWEEN 3 AND 254),
    group_ids       uuid[] NOT NULL DEFAULT '{}',
    inviter_id      uuid NOT NULL,
    allow_any_email boolean NOT NULL DEFAULT false,
    language        text NOT NULL,
    status          text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'accepted', 'revoked')),
    accepted_by     uuid,
    expires_at      timestamptz NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    UNIQUE (realm_id, id),
    FOREIGN KEY (realm_id, inviter_id) REFERENCES users (realm_id, id) ON DELETE CASCADE
);
-- Lists run newest first.
CREATE INDEX invitations_created ON invitations (realm_id, created_at DESC, id DESC);

-- Tokens of e-mail links, by SHA-256 digest: the token itself is never
-- stored here. Spending one deletes it.
CREATE TABLE link_tokens (
    digest        bytea PRIMARY KEY CHECK (length(digest) = 32),
    realm_id      text NOT NULL REFERENCES realms (id) ON DELETE CASCADE,
    purpose       text NOT NULL CHECK (purpose IN ('activate', 'reset', 'invite')),
    user_id       uuid,
    invitation_id uuid,
    -- The address the link was mailed to (docs/accounts.md).
    email         text NOT NULL DEFAULT '',
    expires_at    timestamptz NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now(),
    CHECK ((user_id IS NULL) <> (invitation_id IS NULL)),
    FOREIGN KEY (realm_id, user_id) REFERENCES users (realm_id, id) ON DELETE CASCADE,
    FOREIGN KEY (realm_id, invitation_id) REFERENCES invitations (realm_id, id) ON DELETE CASCADE
);
CREATE INDEX link_tokens_user ON link_tokens (user_id, purpose) WHERE user_id IS NOT NULL;
CREATE INDEX link_tokens_invitation ON link_tokens (invitation_id) WHERE invitation_id IS NOT NULL;

-- Mails waiting to be sent, rendered. A sender leases rows (locked_until)
-- so that nodes sharing the outbox never send one mail twice at once; a
-- sent mail is deleted, a mail given up on is kept as failed for the
-- operator (docs/operations.md, mail delivery).
CREATE TABLE mail_outbox (
    id           uuid PRIMARY KEY,
    realm_id     text NOT NULL,
    recipient    text NOT NULL,
    subject      text NOT NULL,
    body_text    text NOT NULL,
    body_html    text NOT NULL DEFAULT '',
    kind         text NOT NULL DEFAULT '',
    attempts     integer NOT NULL DEFAULT 0,
    -- NULL until a failed attempt sets when to try again: a new mail is
    -- due at once, whatever the clocks of the nodes.
    next_try_at  timestamptz,
    locked_until timestamptz,
    failed       boolean NOT NULL DEFAULT false,
    last_error   text NOT NULL DEFAULT '',
    created_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX mail_outbox_due ON mail_outbox (next_try_at NULLS FIRST) WHERE NOT failed;

INSERT INTO resources (realm_id, name, description, built_in) VALUES
    ('default', 'invites-read', 'Read invitations', true),
    ('default', 'invites-write', 'Create and revoke invitations', true);

-- +goose Down
DELETE FROM group_resources WHERE resource IN ('invites-read', 'invites-write');
DELETE FROM resources WHERE name IN ('invites-read', 'invites-write');
DROP TABLE mail_outbox, link_tokens, invitations;
ALTER TABLE users DROP COLUMN email_verified;
