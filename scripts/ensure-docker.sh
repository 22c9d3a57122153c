#!/usr/bin/env bash
# Make sure a Docker engine answers, for the sandbox tests.
# If none does and we run as root on Debian, install docker.io (and debootstrap, which builds the
# sandbox image offline), start dockerd in the background and wait for it.
# With CI=true a missing engine is an error; elsewhere Docker tests are skipped with a reason.
set -u

engine_up() { docker info >/dev/null 2>&1; }

# Optional gVisor (ENVALIGN_GVISOR=1): install runsc from Debian and register it with the engine as
# the runtime "runsc" (daemon.json, live-reloaded with SIGHUP: running containers are untouched).
# Use it with ENVALIGN_SANDBOX_RUNTIME=runsc; docs/sandbox_isolation.md says what it costs.
add_gvisor() {
  [ "${ENVALIGN_GVISOR:-}" = "1" ] && [ "$(id -u)" = 0 ] || return 0
  if ! command -v runsc >/dev/null 2>&1; then
    echo "docker: installing runsc (gVisor) from Debian"
    apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq runsc >/dev/null || return 0
  fi
  docker info 2>/dev/null | grep -q "runsc" && return 0
  if [ -s /etc/docker/daemon.json ]; then
    echo "docker: /etc/docker/daemon.json exists; add the runsc runtime to it by hand" >&2
    return 0
  fi
  mkdir -p /etc/docker
  echo '{"runtimes": {"runsc": {"path": "/usr/bin/runsc", "runtimeArgs": ["--network=none"]}}}' \
    > /etc/docker/daemon.json
  # SIGHUP makes dockerd reload its runtimes; its pidfile names the engine this script runs.
  [ -s /var/run/docker.pid ] && kill -HUP "$(cat /var/run/docker.pid)" && sleep 2 \
    && echo "docker: runtime runsc registered"
}

if engine_up; then
  echo "docker: engine reachable"
  add_gvisor
  exit 0
fi

if [ "$(id -u)" = 0 ] && [ -f /etc/debian_version ]; then
  missing=""
  command -v dockerd >/dev/null 2>&1 || missing="$missing docker.io"
  command -v debootstrap >/dev/null 2>&1 || missing="$missing debootstrap"
  if [ -n "$missing" ]; then
    echo "docker: installing$missing from Debian"
    apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $missing >/dev/null
  fi
  if command -v dockerd >/dev/null 2>&1; then
    echo "docker: starting dockerd (log: /tmp/envalign-dockerd.log)"
    # Its own session, so the engine outlives the shell (or job) that started it.
    setsid nohup dockerd >/tmp/envalign-dockerd.log 2>&1 < /dev/null &
    for _ in $(seq 1 60); do
      engine_up && { echo "docker: engine started"; add_gvisor; exit 0; }
      sleep 1
    done
    tail -n 20 /tmp/envalign-dockerd.log >&2
  fi
fi

if [ "${CI:-}" = "true" ]; then
  echo "docker: ERROR no Docker engine reachable and none could be started; CI requires one." >&2
  exit 1
fi
echo "docker: no engine reachable; Docker tests will be skipped (start one, or run as root on Debian)."
exit 0
