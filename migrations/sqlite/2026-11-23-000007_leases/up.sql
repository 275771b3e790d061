-- Background work that must run once, not once per instance (the policy
-- scanner, the mail worker): the instance holding a lease does it, renewing
-- the lease as it goes; another takes over when it expires.
CREATE TABLE leases (
    name TEXT PRIMARY KEY,
    holder TEXT NOT NULL,
    expires_at TIMESTAMP NOT NULL
);
