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
exec node "/app/apps/$service/dist/main.js" "$@"
