#!/bin/sh
# Picks the app of the one upload-fleet image: api | worker | dashboard | cli [args...].
# exec: node becomes PID 1 and receives SIGTERM itself (each app drains on SIGTERM).
set -eu

app="${1:-api}"
if [ "$#" -gt 0 ]; then shift; fi

# The worker's young generation is capped at 8 MiB per semi-space (V8's default lets it grow
# to 64 MiB, and it does over a long upload): see docs/operations.md, "Worker memory".
# A NODE_OPTIONS given to the container comes after, so it wins.
if [ "$app" = worker ]; then export NODE_OPTIONS="--max-semi-space-size=8${NODE_OPTIONS:+ $NODE_OPTIONS}"; fi

case "$app" in
  api | worker | dashboard | cli)
    exec node "/app/apps/$app/dist/main.js" "$@"
    ;;
  *)
    echo "usage: docker run IMAGE api|worker|dashboard|cli [args...] (got \"$app\")" >&2
    exit 64
    ;;
esac
