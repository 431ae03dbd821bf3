-- A user's groups in group order from the index alone: `GET /Users/{id}` and every
-- recompute read them by user. (user_id, group_id) serves every use of the index on
-- user_id it replaces, without a visit to the table per membership and without a sort.
CREATE INDEX group_members_user_group_idx ON group_members (user_id, group_id);
DROP INDEX group_members_user_id_idx;
