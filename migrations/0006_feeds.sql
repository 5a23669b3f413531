-- Home-timeline feeds: which users count as active (only they receive fan-out on
-- write; the others are rebuilt on demand), and the index revocation needs to
-- find reblogs of a deleted status after they were soft-deleted with it.
ALTER TABLE users ADD COLUMN last_active_at timestamptz;
CREATE INDEX statuses_reblogs_any ON statuses (reblog_of_id) WHERE reblog_of_id IS NOT NULL;
-- Deep home pages scan each followed account's newest statuses below a cursor;
-- with the columns the home rules test included, that is an index-only scan.
DROP INDEX statuses_by_account;
CREATE INDEX statuses_by_account ON statuses (account_id, id DESC) INCLUDE (visibility, reblog_of_id, in_reply_to_account_id)
  WHERE deleted_at IS NULL;
