-- Finding the newest change of one kind of entity (the rule book reloads
-- when a resource changes; the policy scanner follows resources and
-- households).
CREATE INDEX change_log_entity_seq ON change_log (entity, seq);

-- "Policy finds people": a household that qualifies for a published
-- policy, for its adviser. One row per household and policy: raised once,
-- withdrawn when the household no longer qualifies, raised again (open)
-- if it qualifies once more.
CREATE TABLE alerts (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    household_id BIGINT NOT NULL REFERENCES households(id) ON DELETE CASCADE,
    resource_ref TEXT NOT NULL,
    resource_title TEXT NOT NULL,
    -- open | acknowledged | withdrawn
    status TEXT NOT NULL,
    -- The reasons (JSON array of Chinese sentences) when it was raised.
    reasons TEXT NOT NULL,
    raised_at TIMESTAMP NOT NULL,
    changed_at TIMESTAMP NOT NULL,
    changed_by TEXT,
    UNIQUE (household_id, resource_ref)
);
CREATE INDEX alerts_status ON alerts (status, household_id);
CREATE INDEX alerts_resource ON alerts (resource_ref);

-- Saved three-list bundles (一户一案): immutable, numbered snapshots, so a
-- printed plan can be shown again exactly as it was.
CREATE TABLE bundles (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    number TEXT NOT NULL UNIQUE,
    household_id BIGINT NOT NULL REFERENCES households(id) ON DELETE CASCADE,
    as_of DATE NOT NULL,
    content TEXT NOT NULL,
    created_by TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX bundles_household ON bundles (household_id, id);

-- Referrals: a need referred to a resource; referred -> accepted ->
-- fulfilled, or declined. Accepting takes one unit of the resource's
-- capacity.
CREATE TABLE referrals (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    number TEXT NOT NULL UNIQUE,
    need_id BIGINT NOT NULL REFERENCES needs(id) ON DELETE CASCADE,
    resource_id BIGINT NOT NULL REFERENCES resources(id),
    status TEXT NOT NULL,
    note TEXT NOT NULL DEFAULT '',
    created_by TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_by TEXT NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE INDEX referrals_need ON referrals (need_id);
CREATE INDEX referrals_resource ON referrals (resource_id, status);

CREATE TABLE referral_events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    referral_id BIGINT NOT NULL REFERENCES referrals(id) ON DELETE CASCADE,
    status TEXT NOT NULL,
    note TEXT NOT NULL DEFAULT '',
    actor TEXT NOT NULL,
    at TIMESTAMP NOT NULL
);
CREATE INDEX referral_events_referral ON referral_events (referral_id, id);
