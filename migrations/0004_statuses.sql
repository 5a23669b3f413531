-- Statuses (posts, replies, reblogs), their mentions and hashtags, favourites and bookmarks.
-- Counters live on the rows and are changed in the same transaction as the rows they count.
CREATE TABLE statuses (
  id                      bigint PRIMARY KEY,
  account_id              bigint NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
  text                    text NOT NULL DEFAULT '',        -- source as written
  content                 text NOT NULL DEFAULT '',        -- rendered HTML
  spoiler_text            text NOT NULL DEFAULT '',
  sensitive               boolean NOT NULL DEFAULT false,
  visibility              smallint NOT NULL DEFAULT 0,     -- 0 public, 1 unlisted, 2 private, 3 direct
  language                text,
  in_reply_to_id          bigint,
  in_reply_to_account_id  bigint,
  reblog_of_id            bigint,
  application_id          bigint,
  replies_count           integer NOT NULL DEFAULT 0,
  reblogs_count           integer NOT NULL DEFAULT 0,
  favourites_count        integer NOT NULL DEFAULT 0,
  idempotency_key         text,
  created_at              timestamptz NOT NULL DEFAULT now(),
  deleted_at              timestamptz
);
-- A retried POST with the same Idempotency-Key finds the first status.
CREATE UNIQUE INDEX statuses_idempotency ON statuses (account_id, idempotency_key) WHERE idempotency_key IS NOT NULL;
CREATE INDEX statuses_by_account ON statuses (account_id, id DESC) WHERE deleted_at IS NULL;
CREATE INDEX statuses_public ON statuses (id DESC) WHERE deleted_at IS NULL AND visibility = 0 AND reblog_of_id IS NULL;
CREATE INDEX statuses_replies ON statuses (in_reply_to_id, id) WHERE in_reply_to_id IS NOT NULL AND deleted_at IS NULL;
CREATE INDEX statuses_reblogs ON statuses (reblog_of_id) WHERE reblog_of_id IS NOT NULL AND deleted_at IS NULL;
-- One live reblog per account and status.
CREATE UNIQUE INDEX statuses_one_reblog ON statuses (account_id, reblog_of_id) WHERE reblog_of_id IS NOT NULL AND deleted_at IS NULL;

CREATE TABLE mentions (
  status_id   bigint NOT NULL REFERENCES statuses (id) ON DELETE CASCADE,
  account_id  bigint NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
  PRIMARY KEY (status_id, account_id)
);
CREATE INDEX mentions_by_account ON mentions (account_id, status_id DESC);

CREATE TABLE tags (
  name        text PRIMARY KEY,  -- lower-case
  created_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE statuses_tags (
  tag         text NOT NULL REFERENCES tags (name) ON DELETE CASCADE,
  status_id   bigint NOT NULL REFERENCES statuses (id) ON DELETE CASCADE,
  PRIMARY KEY (tag, status_id)
);
CREATE INDEX statuses_tags_by_status ON statuses_tags (status_id);

CREATE TABLE favourites (
  id          bigint NOT NULL,   -- pagination cursor of GET /api/v1/favourites
  account_id  bigint NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
  status_id   bigint NOT NULL REFERENCES statuses (id) ON DELETE CASCADE,
  created_at  timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (account_id, status_id)
);
CREATE UNIQUE INDEX favourites_cursor ON favourites (account_id, id DESC);
CREATE INDEX favourites_by_status ON favourites (status_id);

CREATE TABLE bookmarks (
  id          bigint NOT NULL,
  account_id  bigint NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
  status_id   bigint NOT NULL REFERENCES statuses (id) ON DELETE CASCADE,
  created_at  timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (account_id, status_id)
);
CREATE UNIQUE INDEX bookmarks_cursor ON bookmarks (account_id, id DESC);
