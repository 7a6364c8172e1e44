# shellcheck shell=bash
# Shared by infra/kafka/{up,down,ctl} (sourced, not run): where our mock Kafka keeps its state and how to
# tell that a process is the launcher we started. The caller sets ROOT (the project) first.
#
# State in .infra/kafka/: launcher (the compiled launcher.c), launcher.pid, launcher.log, ctl.in and ctl.out
# (the control FIFOs, made by the launcher), bootstrap (the broker list), env, started. The lock that
# serializes up and down is .infra/kafka.lock, beside it; ctl.lock serializes commands.

STATE=$ROOT/.infra/kafka
LAUNCHER=$STATE/launcher

# running PID: alive and not a zombie.
running() { kill -0 "$1" 2>/dev/null && ! grep -q '^State:[[:space:]]*Z' "/proc/$1/status" 2>/dev/null; }

# launcher_is_ours PID: PID runs our compiled launcher (also one rebuilt since, whose old file is gone) with
# our control FIFO on its command line. Nothing else is ever signalled.
launcher_is_ours() {
  local pid=$1 exe
  [[ $pid =~ ^[0-9]+$ ]] && running "$pid" || return 1
  exe=$(readlink "/proc/$pid/exe" 2>/dev/null) || return 1
  exe=${exe% (deleted)}
  [ "$exe" = "$LAUNCHER" ] || return 1
  tr '\0' '\n' <"/proc/$pid/cmdline" 2>/dev/null | grep -qxF -- "$STATE/ctl.in"
}

# our_pid: prints the pid of our live launcher; fails when none runs.
our_pid() {
  local pid
  [ -f "$STATE/launcher.pid" ] || return 1
  pid=$(cat "$STATE/launcher.pid" 2>/dev/null)
  launcher_is_ours "$pid" || return 1
  echo "$pid"
}

# send_command TIMEOUT_S WORD…: sends one command line to our launcher and prints its answer (`OK…` or
# `ERR…`); fails, printing nothing, when no launcher of ours runs or no answer comes within TIMEOUT_S.
# Both FIFOs are opened read-write, so no open blocks whether or not the launcher is there; the answer is
# matched by a tag unique to this call.
send_command() {
  local timeout=$1 tag line lock in out i rc=1
  shift
  our_pid >/dev/null || return 1
  [ -p "$STATE/ctl.in" ] && [ -p "$STATE/ctl.out" ] || return 1
  tag="@ctl-$$-$RANDOM"
  exec {lock}>>"$STATE/ctl.lock" || return 1
  if command -v flock >/dev/null && ! flock -w "$timeout" "$lock"; then
    exec {lock}>&-
    return 1
  fi
  exec {out}<>"$STATE/ctl.out" {in}<>"$STATE/ctl.in"
  printf '%s %s\n' "$tag" "$*" >&"$in"
  for ((i = 0; i < timeout * 10; i++)); do
    if IFS= read -r -t 0.1 -u "$out" line; then
      if [[ $line == "$tag "* ]]; then
        printf '%s\n' "${line#"$tag "}"
        rc=0
        break
      fi
      continue # an answer someone else gave up waiting for
    fi
    our_pid >/dev/null || break
  done
  exec {in}>&- {out}>&- {lock}>&-
  return "$rc"
}
