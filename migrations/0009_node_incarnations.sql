-- Each run of a node (an incarnation) has a random id and heartbeats its own row
-- here (two nodes that share a name still have separate rows). Job leases name
-- the incarnation that holds them, so an incarnation that stopped heartbeating
-- (killed, or restarted as a new one) is seen dead and its leases are released
-- without waiting for them to expire.
CREATE TABLE node_incarnations (
  incarnation   text PRIMARY KEY,
  node          text NOT NULL,
  started_at    timestamptz NOT NULL DEFAULT now(),
  last_seen_at  timestamptz NOT NULL DEFAULT now()
);
