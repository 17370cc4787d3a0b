-- +goose Up
-- Contexts: a tree of places where permissions hold (docs/contexts.md).
-- A membership in a context applies there and in every context below it;
-- groups may include other groups; a group may name the resource that
-- manages its memberships; a client may be bound to a context.

-- The id travels in the token scope context:<id>: scope characters only.
-- Depth (storage.MaxContextDepth) and the absence of cycles are decided
-- by the store, under a per-realm advisory lock.
CREATE TABLE contexts (
    realm_id   text NOT NULL REFERENCES realms (id) ON DELETE CASCADE,
    id         text NOT NULL CHECK (id ~ '^[a-z0-9._-]{1,64}$'),
    name       text NOT NULL CHECK (length(name) BETWEEN 1 AND 256),
    kind       text NOT NULL DEFAULT '' CHECK (length(kind) <= 64),
    parent_id  text,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (realm_id, id),
    -- A context with children cannot be deleted.
    FOREIGN KEY (realm_id, parent_id) REFERENCES contexts (realm_id, id)
);
CREATE INDEX contexts_parent ON contexts (realm_id, parent_id);

-- A membership is realm-wide (context_id NULL) or in a context; the same
-- user may be a member of one group in several contexts. A context with
-- memberships cannot be deleted.
ALTER TABLE group_members DROP CONSTRAINT group_members_pkey;
ALTER TABLE group_members
    ADD COLUMN context_id text,
    ADD FOREIGN KEY (realm_id, context_id) REFERENCES contexts (realm_id, id);
CREATE UNIQUE INDEX group_members_unique ON group_members (group_id, user_id, coalesce(context_id, ''));
CREATE INDEX group_members_context ON group_members (realm_id, context_id) WHERE context_id IS NOT NULL;

-- Inclusion: members of group_id hold included_id's resources as well.
-- Acyclic and at most storage.MaxInclusionDepth deep, decided by the store.
CREATE TABLE group_includes (
    realm_id    text NOT NULL,
    group_id    uuid NOT NULL,
    included_id uuid NOT NULL,
    PRIMARY KEY (group_id, included_id),
    FOREIGN KEY (realm_id, group_id) REFERENCES groups (realm_id, id) ON DELETE CASCADE,
    FOREIGN KEY (realm_id, included_id) REFERENCES groups (realm_id, id) ON DELETE CASCADE,
    CHECK (group_id <> included_id)
);
CREATE INDEX group_includes_realm ON group_includes (realm_id);

-- The resource whose holders, in a context, manage the group's
-- memberships there. Deleting the resource leaves groups-write alone.
ALTER TABLE groups
    ADD COLUMN managed_by text,
    ADD FOREIGN KEY (realm_id, managed_by) REFERENCES resources (realm_id, name) ON DELETE SET NULL (managed_by);

-- A client bound to a context gets tokens for it only. A context with
-- bound clients cannot be deleted.
ALTER TABLE clients
    ADD COLUMN context_id text,
    ADD FOREIGN KEY (realm_id, context_id) REFERENCES contexts (realm_id, id);

INSERT INTO resources (realm_id, name, description, built_in)
SELECT id, 'contexts-read', 'Read contexts', true FROM realms
UNION ALL
SELECT id, 'contexts-write', 'Create, change and delete contexts', true FROM realms
ON CONFLICT (realm_id, name) DO UPDATE SET built_in = true, description = EXCLUDED.description;

-- +goose Down
DELETE FROM resources WHERE name IN ('contexts-read', 'contexts-write') AND built_in;
ALTER TABLE clients DROP COLUMN context_id;
ALTER TABLE groups DROP COLUMN managed_by;
DROP TABLE group_includes;
DELETE FROM group_members WHERE context_id IS NOT NULL;
DROP INDEX group_members_unique;
ALTER TABLE group_members DROP COLUMN context_id;
ALTER TABLE group_members ADD PRIMARY KEY (group_id, user_id);
DROP TABLE contexts;
