DROP TABLE change_log;
DROP TABLE resource_history;
DROP TABLE resources;
DROP TABLE user_regions;
DROP TABLE users;
DROP TABLE organisations;
