-- Run once by the postgres image on an empty data directory (/docker-entrypoint-initdb.d):
-- each service owns its own database.
CREATE DATABASE auth;
CREATE DATABASE event;
