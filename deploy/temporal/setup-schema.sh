# Creates the `temporal` and `temporal_visibility` PostgreSQL databases and applies every schema version
# up to the one this temporal-sql-tool release carries (the schema files are embedded in the tool).
# Idempotent, so an upgrade reruns it. The one schema step of both topologies: docker-compose.yml runs
# it in the temporalio/admin-tools container, `npm run cluster` runs it with the temporal-sql-tool it
# builds from the same release.
#
# Environment: POSTGRES_SEEDS (host), POSTGRES_USER, SQL_PASSWORD, DB_PORT (default 5432).
set -eu
: "${POSTGRES_SEEDS:?}" "${POSTGRES_USER:?}" "${SQL_PASSWORD:?}"
port="${DB_PORT:-5432}"
tool() { temporal-sql-tool --plugin postgres12 --ep "${POSTGRES_SEEDS}" -u "${POSTGRES_USER}" -p "${port}" "$@"; }

# Creating a database that exists is a no-op, so the first creation doubles as the wait for PostgreSQL.
echo "waiting for PostgreSQL at ${POSTGRES_SEEDS}:${port}"
attempt=0
until out=$(tool --db temporal create 2>&1); do
  attempt=$((attempt + 1))
  if [ "$attempt" -ge 60 ]; then
    printf '%s\n' "$out" >&2
    echo "PostgreSQL at ${POSTGRES_SEEDS}:${port} does not answer" >&2
    exit 1
  fi
  sleep 1
done

for db in temporal temporal_visibility; do
  case "$db" in temporal) schema=temporal ;; *) schema=visibility ;; esac
  tool --db "$db" create
  tool --db "$db" setup-schema -v 0.0
  tool --db "$db" update-schema --schema-name "postgresql/v12/${schema}"
done
echo "Temporal schema is up to date"
