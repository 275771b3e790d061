DROP TABLE bundles;
DROP TABLE alerts;
DROP INDEX change_log_entity_seq;
