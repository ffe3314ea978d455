#!/bin/sh
# Starts one service of the platform. The service comes from the first argument
# (`auth`, `event` or `gateway`) or, with no argument, from $SERVICE. Any other
# command (e.g. `sh`, `node -e …`) is run as given, for debugging.
set -eu

service="${SERVICE:-}"
if [ "$#" -gt 0 ]; then
  case "$1" in
    auth|event|gateway)
      service="$1"
      shift
      ;;
    *)
      exec "$@"
      ;;
  esac
fi

case "$service" in
  auth|event|gateway) ;;
  "")
    echo "usage: set SERVICE=auth|event|gateway or pass the service name as the command" >&2
    exit 64
    ;;
  *)
    echo "unknown service '$service' (expected auth, event or gateway)" >&2
    exit 64
    ;;
esac

# The healthcheck reads SERVICE to pick the port to probe.
export SERVICE="$service"
# Settings read only at process start, each unless set (the reasons are in scripts/lib/service-env.mjs):
# a 1 GB old-generation limit, so V8 collects before garbage grows to several times the live heap;
# for auth, which hashes passwords (argon2id) on libuv's threads, one thread per core (at least 2).
export NODE_OPTIONS="${NODE_OPTIONS:---max-old-space-size=1024}"
if [ "$service" = auth ] && [ -z "${UV_THREADPOOL_SIZE:-}" ]; then
  cores="$(nproc)"
  export UV_THREADPOOL_SIZE="$(( cores < 2 ? 2 : cores ))"
fi
exec node "/app/apps/$service/dist/main.js" "$@"
