# Helpers shared by start.sh and stop.sh (sourced; expects $S = state dir).

DOVECOT_BIN=/usr/sbin/dovecot
POSTFIX_MASTER_BIN=/usr/lib/postfix/sbin/master

# write_file PATH < content: replace PATH only if the content differs, then
# backdate it by 10 s: Postfix programs sleep (300 ms steps) while any of
# their config files was modified within the last second.
# Changed paths are recorded in $S/.changed (pipelines run in subshells).
write_file() {
    local f=$1 tmp
    tmp="$f.new.$$"
    cat > "$tmp"
    if [ -f "$f" ] && cmp -s "$tmp" "$f"; then
        rm -f "$tmp"
        return 0
    fi
    mv -f "$tmp" "$f"
    touch -d '10 seconds ago' "$f"
    echo "$f" >> "$S/.changed"
}
changed() {
    local f
    for f in "$@"; do
        grep -qxF -- "$f" "$S/.changed" 2>/dev/null && return 0
    done
    return 1
}

# proc_alive PID EXE: PID runs EXE and is not a zombie.
# (PID 1 here reaps orphans slowly, so kill -0 on a dead master stays true.)
proc_alive() {
    local pid=$1 exe=$2 st
    case $pid in ''|*[!0-9]*) return 1;; esac
    [ "$(readlink "/proc/$pid/exe" 2>/dev/null)" = "$exe" ] || return 1
    st=$(awk '{ sub(/^.*\) /, ""); print $1 }' "/proc/$pid/stat" 2>/dev/null) || return 1
    [ -n "$st" ] && [ "$st" != Z ] && [ "$st" != X ]
}

read_pid() {
    [ -f "$1" ] || return 0
    tr -dc '0-9' < "$1" 2>/dev/null || true
}
dovecot_pid() { read_pid "$S/dovecot/run/master.pid"; }
postfix_pid() { read_pid "$S/postfix/queue/pid/master.pid"; }
dovecot_running() { proc_alive "$(dovecot_pid)" "$DOVECOT_BIN"; }
postfix_running() { proc_alive "$(postfix_pid)" "$POSTFIX_MASTER_BIN"; }

# group_alive PGID: some non-zombie process is in process group PGID.
group_alive() {
    ps -e -o pgid=,stat= | awk -v g="$1" '$1 == g && $2 !~ /^Z/ { found = 1 } END { exit !found }'
}

# group_has_exe PGID dovecot|postfix: a live process of group PGID runs a
# binary of that daemon (used for leftovers of a master that is gone).
group_has_exe() {
    local g=$1 prefix pid
    case $2 in dovecot) prefix=/usr/lib/dovecot/;; *) prefix=/usr/lib/postfix/;; esac
    for pid in $(ps -e -o pid=,pgid=,stat= | awk -v g="$g" '$2 == g && $3 !~ /^Z/ { print $1 }'); do
        case $(readlink "/proc/$pid/exe" 2>/dev/null) in "$prefix"*) return 0;; esac
    done
    return 1
}

# port_answers PORT: something accepts TCP connections on 127.0.0.1:PORT.
port_answers() {
    ( { exec 3<>"/dev/tcp/127.0.0.1/$1"; } 2>/dev/null ) 
}

# wait_greeting PORT PREFIX [TIMEOUT_S]: wait until the server on PORT greets
# with a line starting with PREFIX. Then end the session politely.
wait_greeting() {
    local port=$1 prefix=$2 timeout=${3:-20} line quit deadline
    case $prefix in '* OK'*) quit='a LOGOUT';; *) quit='QUIT';; esac
    deadline=$((SECONDS + timeout))
    while [ $SECONDS -lt $deadline ]; do
        if line=$( { exec 3<>"/dev/tcp/127.0.0.1/$port"
                     IFS= read -r -t 5 l <&3 && printf '%s' "$l"
                     printf '%s\r\n' "$quit" >&3
                     read -r -t 2 _ <&3; exec 3<&-; } 2>/dev/null ); then
            case $line in "$prefix"*) return 0;; esac
        fi
        sleep 0.05
    done
    echo "no greeting '$prefix' on 127.0.0.1:$port after ${timeout}s; see $S/log" >&2
    return 1
}
