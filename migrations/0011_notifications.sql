-- Notifications (issue #14), created by jobs of queue "notifications" that are
-- enqueued in the transaction of the event causing them. Ids are time-sortable
-- like the statuses' (milliseconds << 16, here with a sequence in the low bits),
-- so they are the pagination cursor. `activity_id` names what caused the
-- notification (the status, the reblog status, the favourite, the follow, the
-- follow request, the new account, the warning): one notification per
-- (recipient, type, activity), so a retried job never notifies twice.
CREATE SEQUENCE notifications_id_seq;
CREATE TABLE notifications (
  id               bigint PRIMARY KEY,
  account_id       bigint NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,   -- recipient
  from_account_id  bigint NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
  type             text NOT NULL,
  status_id        bigint REFERENCES statuses (id) ON DELETE CASCADE,           -- the status it is about
  activity_id      bigint NOT NULL,
  group_key        text,                                                        -- NULL: ungrouped (and filtered)
  filtered         boolean NOT NULL DEFAULT false,
  created_at       timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX notifications_once ON notifications (account_id, type, activity_id);
-- Cursor reads: all of one recipient's, by type, from one account, and one group.
CREATE INDEX notifications_by_account ON notifications (account_id, id DESC) WHERE NOT filtered;
CREATE INDEX notifications_by_account_all ON notifications (account_id, id DESC);
CREATE INDEX notifications_by_type ON notifications (account_id, type, id DESC);
CREATE INDEX notifications_by_from ON notifications (account_id, from_account_id, id DESC);
CREATE INDEX notifications_by_group ON notifications (account_id, group_key, id DESC) WHERE group_key IS NOT NULL;
CREATE INDEX notifications_by_status ON notifications (status_id) WHERE status_id IS NOT NULL;

-- Which authors have followers asking to be notified of their posts (status
-- creation enqueues a notify job only for those, or when it mentions someone).
CREATE INDEX follows_notify ON follows (target_account_id) WHERE notify;

-- Mastodon's v2 notification policy, per account; no row = the defaults.
CREATE TABLE notification_policies (
  account_id            bigint PRIMARY KEY REFERENCES accounts (id) ON DELETE CASCADE,
  for_not_following     text NOT NULL DEFAULT 'accept' CHECK (for_not_following IN ('accept', 'filter', 'drop')),
  for_not_followers     text NOT NULL DEFAULT 'accept' CHECK (for_not_followers IN ('accept', 'filter', 'drop')),
  for_new_accounts      text NOT NULL DEFAULT 'accept' CHECK (for_new_accounts IN ('accept', 'filter', 'drop')),
  for_private_mentions  text NOT NULL DEFAULT 'filter' CHECK (for_private_mentions IN ('accept', 'filter', 'drop')),
  for_limited_accounts  text NOT NULL DEFAULT 'filter' CHECK (for_limited_accounts IN ('accept', 'filter', 'drop')),
  updated_at            timestamptz NOT NULL DEFAULT now()
);

-- Filtered notifications from one account, as one request to the recipient.
CREATE TABLE notification_requests (
  id               bigint PRIMARY KEY,
  account_id       bigint NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,   -- recipient
  from_account_id  bigint NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
  last_status_id   bigint REFERENCES statuses (id) ON DELETE SET NULL,
  notifications_count bigint NOT NULL DEFAULT 0,
  dismissed        boolean NOT NULL DEFAULT false,
  created_at       timestamptz NOT NULL DEFAULT now(),
  updated_at       timestamptz NOT NULL DEFAULT now(),
  UNIQUE (account_id, from_account_id)
);
CREATE INDEX notification_requests_cursor ON notification_requests (account_id, id DESC) WHERE NOT dismissed;

-- Accounts whose notifications are never filtered for the recipient (an accepted request).
CREATE TABLE notification_permissions (
  account_id       bigint NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
  from_account_id  bigint NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
  created_at       timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (account_id, from_account_id)
);

-- Reading positions (GET/POST /api/v1/markers).
CREATE TABLE markers (
  account_id    bigint NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
  timeline      text NOT NULL CHECK (timeline IN ('home', 'notifications')),
  last_read_id  bigint NOT NULL DEFAULT 0,
  version       integer NOT NULL DEFAULT 0,
  updated_at    timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (account_id, timeline)
);
