-- What a user's last access conflict was (e.g. a Lite user over max_organizations), so
-- access.conflict is emitted once per new conflict, not on every recompute. NULL: none.
ALTER TABLE users ADD COLUMN conflict JSONB;
