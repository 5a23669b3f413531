-- Direct-message conversations (issue #14), as Mastodon's account_conversations:
-- one row per participant, keyed by (account, thread, the other participants).
-- `conversation_id` is the thread's key (the id of the root of the reply chain),
-- `status_ids` the direct statuses of the thread with exactly these participants,
-- sorted, and `last_status_id` the newest of them: the list's pagination cursor,
-- which moves when a new status arrives. A row with no status left is deleted;
-- a viewer who deletes a conversation deletes only their row, and the next
-- status of the thread makes a new one.
CREATE TABLE account_conversations (
  id                       bigint PRIMARY KEY,      -- the Conversation's id (node id generator)
  account_id               bigint NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
  conversation_id          bigint NOT NULL,         -- thread key: the root status of the reply chain
  participant_account_ids  bigint[] NOT NULL,       -- the other participants, sorted (empty: a note to oneself)
  status_ids               bigint[] NOT NULL,       -- sorted, never empty
  last_status_id           bigint NOT NULL,         -- max(status_ids)
  unread                   boolean NOT NULL DEFAULT false,
  UNIQUE (account_id, conversation_id, participant_account_ids)
);
-- GET /api/v1/conversations: newest last status first.
CREATE INDEX account_conversations_cursor ON account_conversations (account_id, last_status_id DESC);
-- A deleted status finds the rows holding it through its thread.
CREATE INDEX account_conversations_thread ON account_conversations (conversation_id);
