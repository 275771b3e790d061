DROP TABLE outbox;
DROP TABLE agreement_needs;
DROP TABLE agreements;
DROP TABLE pledges;
DROP TABLE event_item_needs;
DROP TABLE event_items;
DROP TABLE events;
ALTER TABLE organisations DROP COLUMN email;
ALTER TABLE users DROP COLUMN email;
