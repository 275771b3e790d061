-- E-mail addresses: charities are invited to matchmaking events, advisers
-- receive their "policy finds people" digests.
ALTER TABLE users ADD COLUMN email TEXT NOT NULL DEFAULT '';
ALTER TABLE organisations ADD COLUMN email TEXT NOT NULL DEFAULT '';

-- Quarterly matchmaking events (资源对接会): draft -> published -> held ->
-- closed. One per region scope and quarter.
CREATE TABLE events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    ref_code TEXT NOT NULL UNIQUE,
    region TEXT NOT NULL,
    -- "2026Q4"
    quarter TEXT NOT NULL,
    title TEXT NOT NULL,
    held_on DATE NOT NULL,
    starts_at TIME NOT NULL,
    ends_at TIME NOT NULL,
    venue TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    status TEXT NOT NULL,
    version BIGINT NOT NULL DEFAULT 1,
    created_by TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    published_at TIMESTAMP,
    held_at TIMESTAMP,
    closed_at TIMESTAMP,
    UNIQUE (region, quarter)
);
CREATE INDEX events_status ON events (status, held_on);

-- The event's need list: open needs aggregated and anonymised. Only the
-- item is ever shown to charities and the public; the needs behind it
-- (event_item_needs) are for admins.
CREATE TABLE event_items (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    event_id BIGINT NOT NULL REFERENCES events(id) ON DELETE CASCADE,
    position BIGINT NOT NULL,
    dimension TEXT NOT NULL,
    -- '' when the households share no target group
    target_group TEXT NOT NULL,
    title TEXT NOT NULL,
    -- people asking (the needs' quantities) and households
    people BIGINT NOT NULL,
    households BIGINT NOT NULL,
    -- the highest urgency among the needs
    urgency TEXT NOT NULL,
    note TEXT NOT NULL DEFAULT '',
    hidden BOOLEAN NOT NULL DEFAULT FALSE
);
CREATE INDEX event_items_event ON event_items (event_id, position);

CREATE TABLE event_item_needs (
    item_id BIGINT NOT NULL REFERENCES event_items(id) ON DELETE CASCADE,
    need_id BIGINT NOT NULL REFERENCES needs(id) ON DELETE CASCADE,
    PRIMARY KEY (item_id, need_id)
);
CREATE INDEX event_item_needs_need ON event_item_needs (need_id);

-- A charity's pledge against an item: pledged -> signed, or withdrawn.
CREATE TABLE pledges (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    number TEXT NOT NULL UNIQUE,
    event_id BIGINT NOT NULL REFERENCES events(id) ON DELETE CASCADE,
    item_id BIGINT NOT NULL REFERENCES event_items(id) ON DELETE CASCADE,
    organisation_id BIGINT NOT NULL REFERENCES organisations(id),
    resource_id BIGINT NOT NULL REFERENCES resources(id),
    quantity BIGINT NOT NULL,
    conditions TEXT NOT NULL DEFAULT '',
    deadline DATE,
    status TEXT NOT NULL,
    created_by TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE INDEX pledges_event ON pledges (event_id, item_id);
CREATE INDEX pledges_organisation ON pledges (organisation_id);

-- A signed agreement (对接协议): a pledge bound to concrete needs, each
-- referred to the pledged resource.
CREATE TABLE agreements (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    number TEXT NOT NULL UNIQUE,
    event_id BIGINT NOT NULL REFERENCES events(id) ON DELETE CASCADE,
    pledge_id BIGINT NOT NULL REFERENCES pledges(id),
    signed_on DATE NOT NULL,
    charity_signatory TEXT NOT NULL,
    note TEXT NOT NULL DEFAULT '',
    created_by TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX agreements_event ON agreements (event_id);

CREATE TABLE agreement_needs (
    agreement_id BIGINT NOT NULL REFERENCES agreements(id) ON DELETE CASCADE,
    need_id BIGINT NOT NULL REFERENCES needs(id),
    referral_id BIGINT NOT NULL REFERENCES referrals(id),
    PRIMARY KEY (agreement_id, need_id)
);

-- Every e-mail goes through the outbox: written in the same transaction
-- as what caused it, delivered by a background worker with retries and
-- backoff. pending -> sending -> sent, or failed after the last attempt.
-- `dedupe_key` keeps one message per purpose (an invitation per event and
-- charity, a digest per adviser and day).
CREATE TABLE outbox (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    kind TEXT NOT NULL,
    dedupe_key TEXT NOT NULL UNIQUE,
    recipient TEXT NOT NULL,
    subject TEXT NOT NULL,
    body_text TEXT NOT NULL,
    -- The whole RFC 5322 message, built once, so every attempt sends the
    -- same bytes with the same Message-ID.
    raw TEXT NOT NULL,
    message_id TEXT NOT NULL,
    status TEXT NOT NULL,
    attempts BIGINT NOT NULL DEFAULT 0,
    next_attempt_at TIMESTAMP NOT NULL,
    claimed_until TIMESTAMP,
    last_error TEXT NOT NULL DEFAULT '',
    created_at TIMESTAMP NOT NULL,
    sent_at TIMESTAMP
);
CREATE INDEX outbox_due ON outbox (status, next_attempt_at);
