-- A user's groups with their names from indexes alone (an index-only scan where the
-- visibility map allows): see the SQLite migration of the same number.
CREATE INDEX idp_groups_id_display_name_idx ON idp_groups (id) INCLUDE (display_name);
