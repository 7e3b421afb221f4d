-- A rotated-in key is published at once but signs only from active_from: verifiers refresh their JWKS on a
-- schedule, so a key used the moment it is created would be unknown to some of them for a while (a 401 for a valid
-- token). The key it replaces keeps signing until then (its retired_at is that same moment).
ALTER TABLE signing_keys ADD COLUMN active_from timestamptz NOT NULL DEFAULT now();
