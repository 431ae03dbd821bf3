-- Point reads (src/store/sqlite/point.rs) keep the display names of groups in memory, so
-- that `GET /Users/{id}` does not look each of the user's groups up. This counter moves in
-- the transaction that renames a group; a reader compares it, read in its own snapshot,
-- with the value its names were read at, and drops them when it moved. (A new group is
-- simply not known yet; a deleted one has no memberships left in any later snapshot.)
CREATE TABLE idp_groups_generation (
    id    INTEGER PRIMARY KEY CHECK (id = 1),
    value INTEGER NOT NULL
);
INSERT INTO idp_groups_generation (id, value) VALUES (1, 0);
CREATE TRIGGER idp_groups_renamed AFTER UPDATE OF display_name ON idp_groups
    WHEN OLD.display_name IS NOT NEW.display_name
BEGIN
    UPDATE idp_groups_generation SET value = value + 1 WHERE id = 1;
END;
