DROP TABLE referral_events;
DROP TABLE referrals;
DROP TABLE bundles;
DROP TABLE alerts;
DROP INDEX change_log_entity_seq;
