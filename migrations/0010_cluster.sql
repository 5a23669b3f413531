-- The actor cluster (issue #13): each node advertises where its actor system
-- listens (host:port of the cluster port, empty when clustering is off), the wire
-- protocol it speaks and the incarnation it runs as. A starting node joins every
-- node whose heartbeat is recent.
ALTER TABLE nodes
  ADD COLUMN cluster_address text NOT NULL DEFAULT '',
  ADD COLUMN protocol integer NOT NULL DEFAULT 0,
  ADD COLUMN incarnation text NOT NULL DEFAULT '';
