-- Local accounts, their login credentials, OAuth applications and tokens.
-- Ids are time-sortable 64-bit values made by the application (common/ids.hpp).
CREATE TABLE accounts (
  id               bigint PRIMARY KEY,
  username         text NOT NULL,
  display_name     text NOT NULL DEFAULT '',
  note             text NOT NULL DEFAULT '',
  locked           boolean NOT NULL DEFAULT false,
  bot              boolean NOT NULL DEFAULT false,
  discoverable     boolean NOT NULL DEFAULT true,
  followers_count  integer NOT NULL DEFAULT 0,
  following_count  integer NOT NULL DEFAULT 0,
  statuses_count   integer NOT NULL DEFAULT 0,
  last_status_at   timestamptz,
  created_at       timestamptz NOT NULL DEFAULT now(),
  updated_at       timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX accounts_username_key ON accounts (lower(username));

CREATE TABLE users (
  account_id       bigint PRIMARY KEY REFERENCES accounts (id) ON DELETE CASCADE,
  email            text NOT NULL,
  password_hash    text NOT NULL,
  admin            boolean NOT NULL DEFAULT false,
  confirmed        boolean NOT NULL DEFAULT false,
  disabled         boolean NOT NULL DEFAULT false,
  locale           text NOT NULL DEFAULT 'en',
  created_at       timestamptz NOT NULL DEFAULT now(),
  last_sign_in_at  timestamptz
);
CREATE UNIQUE INDEX users_email_key ON users (lower(email));

CREATE TABLE oauth_apps (
  id                  bigint PRIMARY KEY,
  name                text NOT NULL,
  website             text,
  redirect_uris       text[] NOT NULL,
  scopes              text NOT NULL,
  client_id           text NOT NULL UNIQUE,
  client_secret_hash  text NOT NULL,
  created_at          timestamptz NOT NULL DEFAULT now()
);

-- Only the SHA-256 of a token is stored; the token itself is shown once.
CREATE TABLE oauth_tokens (
  id            bigint PRIMARY KEY,
  token_hash    text NOT NULL UNIQUE,
  app_id        bigint NOT NULL REFERENCES oauth_apps (id) ON DELETE CASCADE,
  account_id    bigint REFERENCES accounts (id) ON DELETE CASCADE,  -- NULL: app-only token
  scopes        text NOT NULL,
  created_at    timestamptz NOT NULL DEFAULT now(),
  revoked_at    timestamptz
);
CREATE INDEX oauth_tokens_account ON oauth_tokens (account_id) WHERE revoked_at IS NULL;

-- Authorization codes (authorization_code grant): single use, short-lived.
CREATE TABLE oauth_codes (
  code_hash     text PRIMARY KEY,
  app_id        bigint NOT NULL REFERENCES oauth_apps (id) ON DELETE CASCADE,
  account_id    bigint NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
  scopes        text NOT NULL,
  redirect_uri  text NOT NULL,
  expires_at    timestamptz NOT NULL,
  used_at       timestamptz
);
