-- Instance-wide settings edited at runtime by operators (e.g. registrations open/closed).
CREATE TABLE settings (
  key        text PRIMARY KEY,
  value      jsonb NOT NULL,
  updated_at timestamptz NOT NULL DEFAULT now()
);
