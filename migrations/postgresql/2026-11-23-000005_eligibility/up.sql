-- Finding the newest change of one kind of entity (the rule book reloads
-- when a resource changes).
CREATE INDEX change_log_entity_seq ON change_log (entity, seq);
