# shellcheck shell=bash
# Shared by infra/openstack/{up,down} (sourced, not run): where our OpenStack keeps its state and how to tell
# that a process is one we started. The caller sets ROOT (the project) first.
#
# State in .infra/openstack/: ports and secrets (chosen once, kept until `down --purge`), etc/ (every config
# file), data/ (MariaDB's datadir, RabbitMQ's mnesia, Glance's images, Nova's state paths, Keystone's keys),
# log/ (one log per service and per setup step), run/ (NAME.pid: the process group leader of each service),
# done/ (markers of the one-time setup steps), ids (what the setup created), env, started. The lock that
# serializes up and down is .infra/openstack.lock, beside it.

STATE=$ROOT/.infra/openstack
# shellcheck disable=SC2034 # used by up
PY=/usr/bin/python3
# Every process we start carries this in its environment: the proof that a pid is ours.
MARK="WARMPOOL_OS_STACK=$STATE"
# Start order; down stops them in reverse.
# shellcheck disable=SC2034 # used by up and down
SERVICES=(mariadb rabbitmq neutron keystone placement glance nova-api nova-conductor nova-scheduler
  nova-compute-1 nova-compute-2)

# running PID: alive and not a zombie.
running() { kill -0 "$1" 2>/dev/null && ! grep -q '^State:[[:space:]]*Z' "/proc/$1/status" 2>/dev/null; }

# is_ours PID: a live process started by this stack (its environment carries MARK).
is_ours() {
  local pid=$1
  [[ $pid =~ ^[0-9]+$ ]] && running "$pid" || return 1
  tr '\0' '\n' 2>/dev/null <"/proc/$pid/environ" | grep -qxF -- "$MARK"
}

# service_pid NAME: prints the pid of our live service NAME (its process group leader); fails otherwise.
service_pid() {
  local pid
  [ -f "$STATE/run/$1.pid" ] || return 1
  pid=$(cat "$STATE/run/$1.pid" 2>/dev/null)
  is_ours "$pid" || return 1
  echo "$pid"
}

# pids_with_env VAR=VALUE: every live process (not this shell) whose environment holds VAR=VALUE (never an
# epmd: one started by our RabbitMQ may serve other Erlang nodes of the machine).
pids_with_env() {
  local p pid
  for p in /proc/[0-9]*; do
    pid=${p#/proc/}
    [ "$pid" = $$ ] && continue
    [ "$(cat "$p/comm" 2>/dev/null)" = epmd ] && continue
    running "$pid" || continue
    tr '\0' '\n' 2>/dev/null <"$p/environ" | grep -qxF -- "$1" && echo "$pid"
  done
}

# stray_pids: every live process of ours, whatever its group.
stray_pids() { pids_with_env "$MARK"; }

# stop_services NAME…: SIGTERM to the process group of each live service of ours, up to WAIT_S (default
# 15) seconds, then SIGKILL to what is left of those groups.
stop_services() {
  local name pid pids=() left i wait_s=${STOP_WAIT_S:-15}
  for name in "$@"; do
    pid=$(service_pid "$name") || continue
    kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null
    pids+=("$pid")
  done
  [ "${#pids[@]}" = 0 ] && return 0
  for ((i = 0; i < wait_s * 10; i++)); do
    left=()
    for pid in "${pids[@]}"; do group_alive "$pid" && left+=("$pid"); done
    pids=("${left[@]}")
    [ "${#pids[@]}" = 0 ] && return 0
    sleep 0.1
  done
  for pid in "${pids[@]}"; do
    echo "openstack: process group $pid still up after SIGTERM: SIGKILL" >&2
    kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null
  done
  for ((i = 0; i < 30; i++)); do
    left=()
    for pid in "${pids[@]}"; do group_alive "$pid" && left+=("$pid"); done
    [ "${#left[@]}" = 0 ] && return 0
    sleep 0.1
  done
  return 1
}

# group_alive PGID: some live (non-zombie) process of ours is in that process group.
group_alive() {
  local pid
  for pid in $(pgrep -g "$1" 2>/dev/null); do
    is_ours "$pid" && return 0
  done
  return 1
}
