#!/usr/bin/env bash
# `make run`: start `tidemark serve` on an embedded data directory, creating a development
# write key and an admin key on first start. The two secrets are kept (mode 0600) in
# <data>/dev-keys.env so later runs can print them again; production keys are created with
# `tidemark keys create` and never stored in clear.
set -euo pipefail
BIN=${1:?tidemark binary}
DATA=${2:-./data}
LISTEN=${3:-127.0.0.1:8080}

mkdir -p "$DATA"
KEYS="$DATA/dev-keys.env"
if [[ ! -f "$KEYS" ]]; then
  umask 077
  WRITE_KEY=$("$BIN" keys create --data "$DATA" --source dev-web --platform web --scopes write 2>/dev/null)
  ADMIN_KEY=$("$BIN" keys create --data "$DATA" --source dev-admin --platform server --scopes write,read,admin 2>/dev/null)
  printf 'WRITE_KEY=%s\nADMIN_KEY=%s\n' "$WRITE_KEY" "$ADMIN_KEY" > "$KEYS"
fi
# shellcheck disable=SC1090
source "$KEYS"
URL="http://$LISTEN"
cat <<MSG

  tidemark is starting on $URL (data in $DATA)

  write key (web SDKs):        $WRITE_KEY
  admin key (read + admin):    $ADMIN_KEY

  send a first event:
    curl -s -H "Authorization: Bearer $WRITE_KEY" -H 'Content-Type: application/json' \\
      -d '{"batch":[{"event_type":"page_view","user_id":"u-1","timestamp":"$(date -u +%Y-%m-%dT%H:%M:%SZ)","properties":{"url":"/"}}]}' \\
      $URL/v1/batch
  and see it in the log:
    $BIN log dump --data $DATA --topic user-events

MSG
exec "$BIN" serve --data "$DATA" --listen "$LISTEN"
