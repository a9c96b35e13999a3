#!/usr/bin/env bash
# Stop the daemons of one mail stack instance.
#
#   stop.sh STATE_DIR [dovecot|postfix]...
#
# Stops by the pid files in STATE_DIR (never by process name) and waits until
# the masters' process groups are gone (zombies count as gone).
# MAILSTACK_STOP_FAST=1 sends SIGKILL to the process groups instead.
set -euo pipefail

die() { echo "stop.sh: $*" >&2; exit 1; }
[ $# -ge 1 ] && [ -n "$1" ] || die "usage: stop.sh STATE_DIR [dovecot|postfix]..."
[ -d "$1" ] || { echo "stop.sh: $1 does not exist; nothing to stop" >&2; exit 0; }
S=$(cd "$1" && pwd -P)
shift
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
# shellcheck source=lib.sh
. "$HERE/lib.sh"

which=("$@")
[ ${#which[@]} -gt 0 ] || which=(postfix dovecot)
for w in "${which[@]}"; do
    case $w in dovecot|postfix) ;; *) die "unknown service '$w' (want dovecot or postfix)";; esac
done

fast=${MAILSTACK_STOP_FAST:-0}
pgids=()
for w in "${which[@]}"; do
    if [ "$w" = dovecot ]; then
        pid=$(dovecot_pid); exe=$DOVECOT_BIN
    else
        pid=$(postfix_pid); exe=$POSTFIX_MASTER_BIN
    fi
    if ! proc_alive "$pid" "$exe"; then
        # Master gone, but maybe children of it left in its group (e.g. the
        # master was killed alone): stop those if they are this daemon's.
        if [ -n "$pid" ] && group_has_exe "$pid" "$w"; then
            kill -"$([ "$fast" = 1 ] && echo KILL || echo TERM)" -- "-$pid" 2>/dev/null || true
            pgids+=("$pid:$w")
        fi
        continue
    fi
    # Both masters call setsid(): the master is the leader of its own group.
    pgid=$(ps -o pgid= -p "$pid" | tr -d ' ')
    if [ "$fast" = 1 ]; then
        if [ "$pgid" = "$pid" ]; then kill -KILL -- "-$pgid" 2>/dev/null || true
        else kill -KILL "$pid" 2>/dev/null || true; fi
    else
        kill -TERM "$pid" 2>/dev/null || true
    fi
    [ "$pgid" = "$pid" ] && pgids+=("$pgid:$w")
done

# Wait for the groups to go; escalate to SIGKILL after 15 s.
# Dovecot's auth process (with stats and log) outlives the master while
# Postfix smtpd processes are still connected to auth-postfix, i.e. when
# Dovecot is stopped alone: once the master is gone, SIGTERM the rest.
deadline=$((SECONDS + 15))
for entry in ${pgids[@]+"${pgids[@]}"}; do
    g=${entry%%:*}
    termed=0
    while group_alive "$g"; do
        if [ $termed = 0 ] && ! proc_alive "$g" "$(readlink "/proc/$g/exe" 2>/dev/null || echo none)"; then
            kill -TERM -- "-$g" 2>/dev/null || true
            termed=1
        fi
        if [ $SECONDS -ge $deadline ]; then
            echo "stop.sh: ${entry#*:} (group $g) still running after 15 s; sending SIGKILL" >&2
            kill -KILL -- "-$g" 2>/dev/null || true
            deadline=$((SECONDS + 5))
        fi
        sleep 0.02
    done
done

for w in "${which[@]}"; do
    if [ "$w" = dovecot ]; then
        rm -f "$S/dovecot/run/master.pid" "$S/dovecot/run/anvil-auth-penalty"
    fi
done
exit 0
