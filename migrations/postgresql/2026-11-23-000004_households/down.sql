DROP TABLE audit_log;
DROP TABLE case_notes;
DROP TABLE need_events;
DROP TABLE needs;
DROP TABLE assessments;
DROP TABLE members;
DROP TABLE households;
DROP TABLE app_settings;
