-- A user's groups with their names from indexes alone: `GET /Users/{id}` joins each of
-- the user's memberships to its group for the display name. Through the primary key's
-- index that is a second descent per group, into the table; (id, display_name) answers
-- the join by itself. idp_groups is small (groups, not users) and seldom renamed.
CREATE INDEX idp_groups_id_display_name_idx ON idp_groups (id, display_name);
