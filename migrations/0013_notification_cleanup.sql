-- Notifications disappear with what caused them, in the transaction that undoes
-- it (Mastodon destroys them with their activity), instead of being hidden by a
-- check at every read: an undone favourite, follow or follow request, a deleted
-- reblog, and every notification about a deleted status. Triggers, so every
-- path that undoes an activity (unfavourite, unfollow, a block removing follows,
-- a rejected request, a status deleted with its reblogs, a cascade) is covered.
-- The notify job checks (and locks) its activity before inserting, so a job that
-- runs after the undo, or concurrently with it, leaves nothing behind.

CREATE FUNCTION notifications_gone_favourite() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  DELETE FROM notifications n USING statuses s
   WHERE s.id = OLD.status_id AND n.account_id = s.account_id AND n.type = 'favourite' AND n.activity_id = OLD.id;
  RETURN NULL;
END $$;
CREATE TRIGGER notifications_gone AFTER DELETE ON favourites
  FOR EACH ROW EXECUTE FUNCTION notifications_gone_favourite();

CREATE FUNCTION notifications_gone_follow() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  DELETE FROM notifications n
   WHERE n.account_id = OLD.target_account_id AND n.type = TG_ARGV[0] AND n.activity_id = OLD.id;
  RETURN NULL;
END $$;
CREATE TRIGGER notifications_gone AFTER DELETE ON follows
  FOR EACH ROW EXECUTE FUNCTION notifications_gone_follow('follow');
CREATE TRIGGER notifications_gone AFTER DELETE ON follow_requests
  FOR EACH ROW EXECUTE FUNCTION notifications_gone_follow('follow_request');

-- A status deleted (deleted_at set): the notifications about it, and the reblog
-- notification it caused when it is a reblog.
CREATE FUNCTION notifications_gone_status() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  DELETE FROM notifications n WHERE n.status_id = NEW.id;
  IF NEW.reblog_of_id IS NOT NULL THEN
    DELETE FROM notifications n USING statuses o
     WHERE o.id = NEW.reblog_of_id AND n.account_id = o.account_id AND n.type = 'reblog' AND n.activity_id = NEW.id;
  END IF;
  RETURN NULL;
END $$;
CREATE TRIGGER notifications_gone AFTER UPDATE OF deleted_at ON statuses
  FOR EACH ROW WHEN (OLD.deleted_at IS NULL AND NEW.deleted_at IS NOT NULL)
  EXECUTE FUNCTION notifications_gone_status();

-- What the old read-time check hid is deleted once.
DELETE FROM notifications n WHERE
  (n.status_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM statuses s WHERE s.id = n.status_id AND s.deleted_at IS NULL))
  OR (n.type = 'favourite' AND NOT EXISTS (SELECT 1 FROM favourites f WHERE f.account_id = n.from_account_id AND f.id = n.activity_id))
  OR (n.type = 'reblog' AND NOT EXISTS (SELECT 1 FROM statuses r WHERE r.id = n.activity_id AND r.deleted_at IS NULL))
  OR (n.type = 'follow' AND NOT EXISTS (SELECT 1 FROM follows w WHERE w.id = n.activity_id))
  OR (n.type = 'follow_request' AND NOT EXISTS (SELECT 1 FROM follow_requests q WHERE q.id = n.activity_id));
