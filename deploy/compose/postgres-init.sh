#!/bin/bash
# Run once by the postgres image on an empty data directory (docker-entrypoint-initdb.d), as the
# superuser: the roles and database the ANPR services expect (docs/operations.md, PostgreSQL).
#   anpr_owner  owns database anpr: the migrations run as it (ANPR_DATABASE_MIGRATE_URL)
#   anpr_app    what the services log in as (ANPR_DATABASE_URL): no DDL, append-only audit
set -euo pipefail
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname postgres \
  -v owner_pw="$ANPR_DB_OWNER_PASSWORD" -v app_pw="$ANPR_DB_APP_PASSWORD" <<'SQL'
CREATE ROLE anpr_owner LOGIN PASSWORD :'owner_pw';
CREATE ROLE anpr_app LOGIN PASSWORD :'app_pw';
CREATE DATABASE anpr OWNER anpr_owner;
SQL
