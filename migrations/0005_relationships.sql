-- Follows, follow requests (for locked accounts), blocks and mutes. Each row has
-- its own time-sortable id, the pagination cursor of the lists it appears in.
CREATE TABLE follows (
  id                 bigint NOT NULL UNIQUE,
  account_id         bigint NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,  -- follower
  target_account_id  bigint NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,  -- followed
  show_reblogs       boolean NOT NULL DEFAULT true,
  notify             boolean NOT NULL DEFAULT false,
  created_at         timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (account_id, target_account_id)
);
CREATE INDEX follows_by_target ON follows (target_account_id, id DESC);
CREATE INDEX follows_by_follower ON follows (account_id, id DESC);

CREATE TABLE follow_requests (
  id                 bigint NOT NULL UNIQUE,
  account_id         bigint NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
  target_account_id  bigint NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
  show_reblogs       boolean NOT NULL DEFAULT true,
  notify             boolean NOT NULL DEFAULT false,
  created_at         timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (account_id, target_account_id)
);
CREATE INDEX follow_requests_by_target ON follow_requests (target_account_id, id DESC);

CREATE TABLE blocks (
  id                 bigint NOT NULL UNIQUE,
  account_id         bigint NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
  target_account_id  bigint NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
  created_at         timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (account_id, target_account_id)
);
CREATE INDEX blocks_by_target ON blocks (target_account_id);
CREATE INDEX blocks_cursor ON blocks (account_id, id DESC);

CREATE TABLE mutes (
  id                  bigint NOT NULL UNIQUE,
  account_id          bigint NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
  target_account_id   bigint NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
  hide_notifications  boolean NOT NULL DEFAULT true,
  expires_at          timestamptz,  -- NULL: until unmuted
  created_at          timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (account_id, target_account_id)
);
CREATE INDEX mutes_cursor ON mutes (account_id, id DESC);
