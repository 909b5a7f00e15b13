#!/bin/sh
# Picks the app of the one upload-fleet image: api | worker | dashboard | cli [args...].
# exec: node becomes PID 1 and receives SIGTERM itself (each app drains on SIGTERM).
set -eu

app="${1:-api}"
if [ "$#" -gt 0 ]; then shift; fi

case "$app" in
  api | worker | dashboard | cli)
    exec node "/app/apps/$app/dist/main.js" "$@"
    ;;
  *)
    echo "usage: docker run IMAGE api|worker|dashboard|cli [args...] (got \"$app\")" >&2
    exit 64
    ;;
esac
