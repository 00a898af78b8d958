# Creates the namespace with rigsnap's history retention and registers rigsnap's search attributes, so
# that schedules and list filters work before the first worker starts (each worker checks them again).
# Idempotent. The one namespace step of both topologies: docker-compose.yml runs it in the
# temporalio/admin-tools container, `npm run cluster` with the project's `temporal` CLI.
#
# Environment: TEMPORAL_ADDRESS, NAMESPACE (default "default").
set -eu
: "${TEMPORAL_ADDRESS:?}"
NAMESPACE="${NAMESPACE:-default}"
# How long Temporal keeps a closed workflow's history.
RETENTION=30d
# Keyword attributes and KeywordList attributes; together the names of contract/search-attributes.ts
# SEARCH_ATTRIBUTES (a test checks they agree).
SEARCH_ATTRIBUTES="RigboxWorkspaceId RigboxOperation"
KEYWORD_LIST_ATTRIBUTES="RigboxLabels"

attempt=0
until temporal operator cluster health --address "${TEMPORAL_ADDRESS}" >/dev/null 2>&1; do
  attempt=$((attempt + 1))
  if [ "$attempt" -ge 60 ]; then echo "Temporal at ${TEMPORAL_ADDRESS} is not healthy" >&2; exit 1; fi
  sleep 2
done
if ! temporal operator namespace describe --address "${TEMPORAL_ADDRESS}" -n "${NAMESPACE}" >/dev/null 2>&1; then
  temporal operator namespace create --address "${TEMPORAL_ADDRESS}" -n "${NAMESPACE}" --retention "${RETENTION}"
  sleep 2
fi
existing=$(temporal operator search-attribute list --address "${TEMPORAL_ADDRESS}" -n "${NAMESPACE}" 2>/dev/null || true)
for name in ${SEARCH_ATTRIBUTES}; do
  if ! printf '%s\n' "$existing" | grep -qw "$name"; then
    temporal operator search-attribute create --address "${TEMPORAL_ADDRESS}" -n "${NAMESPACE}" --name "$name" --type Keyword
  fi
done
for name in ${KEYWORD_LIST_ATTRIBUTES}; do
  if ! printf '%s\n' "$existing" | grep -qw "$name"; then
    temporal operator search-attribute create --address "${TEMPORAL_ADDRESS}" -n "${NAMESPACE}" --name "$name" --type KeywordList
  fi
done
echo "namespace ${NAMESPACE} is ready (retention ${RETENTION}; search attributes ${SEARCH_ATTRIBUTES} ${KEYWORD_LIST_ATTRIBUTES})"
