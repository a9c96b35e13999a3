#!/usr/bin/env bash
# Start (or complete, or reload) a private Dovecot + Postfix on 127.0.0.1.
#
#   start.sh STATE_DIR
#
# Everything (config, queue, mail, TLS, logs) lives under STATE_DIR. Running it
# again on the same STATE_DIR starts only the daemons that are down and reloads
# a running daemon only if its generated config changed. See README.md.
set -euo pipefail
umask 022

die() { echo "start.sh: $*" >&2; exit 1; }

[ $# -ge 1 ] && [ -n "$1" ] || die "usage: start.sh STATE_DIR"
[ "$(id -u)" -eq 0 ] || die "must run as root (both masters need root)"
for b in /usr/sbin/dovecot /usr/sbin/postfix /usr/lib/postfix/sbin/master openssl; do
    command -v "$b" >/dev/null || die "$b not found; run install.sh first"
done

mkdir -p "$1"
S=$(cd "$1" && pwd -P)
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
# shellcheck source=lib.sh
. "$HERE/lib.sh"

# --- preconditions on the path --------------------------------------------
# Postfix's lmtp client (uid postfix) and Dovecot's mail processes (uid nobody)
# must reach sockets and maildirs under STATE_DIR.
p=$S
while [ "$p" != / ]; do
    perm=$(stat -c %A "$p")
    if [ "${perm:9:1}" != x ] && [ "${perm:9:1}" != t ]; then
        die "$p is not searchable by other users (mode $perm); run: chmod o+x $p"
    fi
    p=$(dirname "$p")
done
RUN="$S/dovecot/run"
[ ${#RUN} -le 70 ] || die "state dir path too long: $RUN has ${#RUN} chars (max 70; UNIX socket paths are limited)"

# --- settings (a state dir keeps its ports, users and domains) -------------
DEFAULT_DOMAINS="ouchn.test moe.test bj.test tj.test he.test sx.test nm.test ln.test jl.test hl.test
sh.test js.test zj.test ah.test fj.test jx.test sd.test ha.test hb.test hn.test gd.test gx.test hi.test
cq.test sc.test gz.test yn.test xz.test sn.test gs.test qh.test nx.test xj.test xjbt.test zs.test
qq.test 126.test 163.test example.test"
DEFAULT_USERS="lndx@ouchn.test:secret ministry@moe.test:secret sender@bj.test:secret sender@gd.test:secret postmaster@ouchn.test:secret"

SETTINGS="$S/settings"
saved_port_base= saved_users= saved_extra_domains= saved_any_user= saved_password= saved_extra_ports=
if [ -f "$SETTINGS" ]; then
    # shellcheck disable=SC1090
    . "$SETTINGS"
fi

dovecot_up=0; postfix_up=0
dovecot_running && dovecot_up=1
postfix_running && postfix_up=1

PORT_BASE=${saved_port_base:-10000}
if [ -n "${MAILSTACK_PORT_BASE:-}" ] && [ "$MAILSTACK_PORT_BASE" != "$PORT_BASE" ]; then
    if [ -n "$saved_port_base" ] && { [ $dovecot_up = 1 ] || [ $postfix_up = 1 ]; }; then
        die "instance in $S is running on port base $saved_port_base; stop it before changing MAILSTACK_PORT_BASE"
    fi
    PORT_BASE=$MAILSTACK_PORT_BASE
fi
case $PORT_BASE in ''|*[!0-9]*) die "bad MAILSTACK_PORT_BASE: $PORT_BASE";; esac
[ "$PORT_BASE" -ge 1 ] && [ $((PORT_BASE + 993)) -le 65535 ] || die "MAILSTACK_PORT_BASE out of range: $PORT_BASE"

EXTRA_PORTS=$(echo "${MAILSTACK_SMTP_EXTRA_PORTS-$saved_extra_ports}" | tr ',' ' ' | xargs)
for x in $EXTRA_PORTS; do
    case $x in *[!0-9]*) die "bad port in MAILSTACK_SMTP_EXTRA_PORTS: $x";; esac
done
ANY_USER=${MAILSTACK_ANY_USER:-${saved_any_user:-1}}
PASSWORD=${MAILSTACK_ANY_USER_PASSWORD:-${saved_password:-secret}}
USERS=$(echo "${MAILSTACK_USERS:-${saved_users:-$DEFAULT_USERS}}" | tr ',' ' ' | xargs)
EXTRA_DOMAINS=$(echo "${MAILSTACK_DOMAINS-$saved_extra_domains}" | tr ',' ' ' | xargs)

case $PASSWORD in *[[:space:]:]*|'') die "MAILSTACK_ANY_USER_PASSWORD must be non-empty without spaces or ':'";; esac

IMAP_PORT=$((PORT_BASE + 143))
IMAPS_PORT=$((PORT_BASE + 993))
SMTP_PORT=$((PORT_BASE + 25))
SUBMISSION_PORT=$((PORT_BASE + 587))
SMTPS_PORT=$((PORT_BASE + 465))

# Domains: defaults + extra + the users' own domains, lower-case, unique.
DOMAINS=$( { for d in $DEFAULT_DOMAINS $EXTRA_DOMAINS; do echo "$d"; done
             for u in $USERS; do a=${u%%:*}; echo "${a#*@}"; done; } \
           | tr 'A-Z' 'a-z' | awk 'NF && !seen[$0]++' | xargs)
for u in $USERS; do
    a=${u%%:*}
    case $a in *@*.*) ;; *) die "bad user in MAILSTACK_USERS: $u (want addr@domain:password)";; esac
done

INSTANCE="mailstack-$(printf %s "$S" | cksum | cut -d' ' -f1)"

mkdir -p "$S"/dovecot/run "$S"/dovecot/state "$S"/postfix/conf "$S"/postfix/queue \
         "$S"/postfix/data "$S"/tls "$S"/mail "$S"/log
chown nobody:nogroup "$S/mail"
chown postfix "$S/postfix/data"
: > "$S/.changed"

write_file "$SETTINGS" <<EOF
saved_port_base=$PORT_BASE
saved_users="$USERS"
saved_extra_domains="$EXTRA_DOMAINS"
saved_any_user=$ANY_USER
saved_password=$PASSWORD
saved_extra_ports="$EXTRA_PORTS"
EOF

# --- TLS: private CA + CA:FALSE leaf (rustls rejects a self-signed CA:TRUE leaf) ---
T="$S/tls"
if [ ! -s "$T/ca.pem" ] || [ ! -s "$T/server.pem" ] || [ ! -s "$T/server.key" ]; then
    rm -f "$T"/*
    openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$T/ca.key" 2>/dev/null
    openssl req -x509 -new -key "$T/ca.key" -sha256 -days 3650 \
        -subj "/O=mailstack test/CN=mailstack test CA" \
        -addext "basicConstraints=critical,CA:TRUE" \
        -addext "keyUsage=critical,keyCertSign,cRLSign" \
        -addext "subjectKeyIdentifier=hash" \
        -out "$T/ca.pem" 2>/dev/null
    openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$T/server.key" 2>/dev/null
    openssl req -new -key "$T/server.key" -subj "/O=mailstack test/CN=localhost" \
        -out "$T/server.csr" 2>/dev/null
    cat > "$T/server.ext" <<EOF
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature,keyEncipherment
extendedKeyUsage = serverAuth
subjectAltName = DNS:localhost,DNS:mail.mailstack.test,IP:127.0.0.1
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid,issuer
EOF
    openssl x509 -req -in "$T/server.csr" -CA "$T/ca.pem" -CAkey "$T/ca.key" \
        -CAcreateserial -days 3650 -sha256 -extfile "$T/server.ext" \
        -out "$T/server.pem" 2>/dev/null
    chmod 600 "$T/ca.key" "$T/server.key"
    chmod 644 "$T/ca.pem" "$T/server.pem"
fi

# --- Dovecot ----------------------------------------------------------------
DC="$S/dovecot/dovecot.conf"
USERS_FILE="$S/dovecot/users"
DOMAINS_FILE="$S/dovecot/domains"
{
    for u in $USERS; do
        a=$(printf %s "${u%%:*}" | tr 'A-Z' 'a-z')
        pw=${u#*:}; [ "$pw" != "$u" ] || pw=$PASSWORD
        echo "$a:{PLAIN}$pw::::::"
    done
} | write_file "$USERS_FILE"
# ANY_USER mode: the passwd-file is keyed by the domain (username_format=%Ld),
# so every address of a test domain exists and logs in with $PASSWORD.
for d in $DOMAINS; do echo "$d:{PLAIN}$PASSWORD::::::"; done | write_file "$DOMAINS_FILE"
chmod 640 "$USERS_FILE" "$DOMAINS_FILE"
chgrp dovecot "$USERS_FILE" "$DOMAINS_FILE"

if [ "$ANY_USER" = 1 ]; then
    extra_db="
passdb {
  driver = passwd-file
  args = scheme=PLAIN username_format=%Ld $DOMAINS_FILE
}
userdb {
  driver = passwd-file
  args = username_format=%Ld $DOMAINS_FILE
  default_fields = uid=nobody gid=nogroup home=$S/mail/%Ld/%Ln
}"
else
    extra_db=
fi

write_file "$DC" <<EOF
# Generated by start.sh; standalone (includes nothing from /etc/dovecot).
instance_name = $INSTANCE
base_dir = $RUN
state_dir = $S/dovecot/state
log_path = $S/log/dovecot.log
hostname = mail.mailstack.test
protocols = imap lmtp
listen = 127.0.0.1
shutdown_clients = yes

ssl = yes
ssl_cert = <$T/server.pem
ssl_key = <$T/server.key
ssl_dh = </usr/share/dovecot/dh.pem

disable_plaintext_auth = no
auth_mechanisms = plain login
auth_username_format = %Lu
auth_failure_delay = 0 secs

first_valid_uid = 65534
first_valid_gid = 65534
mail_location = maildir:~/Maildir
mail_max_userip_connections = 1000
mailbox_idle_check_interval = 1 secs
imap_id_log = *

namespace inbox {
  inbox = yes
  mailbox Drafts {
    special_use = \\Drafts
    auto = subscribe
  }
  mailbox Sent {
    special_use = \\Sent
    auto = subscribe
  }
  mailbox Junk {
    special_use = \\Junk
    auto = subscribe
  }
  mailbox Trash {
    special_use = \\Trash
    auto = subscribe
  }
}

passdb {
  driver = passwd-file
  args = scheme=PLAIN username_format=%Lu $USERS_FILE
}
userdb {
  driver = passwd-file
  args = username_format=%Lu $USERS_FILE
  default_fields = uid=nobody gid=nogroup home=$S/mail/%Ld/%Ln
}
$extra_db

service imap-login {
  inet_listener imap {
    address = 127.0.0.1
    port = $IMAP_PORT
  }
  inet_listener imaps {
    address = 127.0.0.1
    port = $IMAPS_PORT
    ssl = yes
  }
  service_count = 0
  process_min_avail = 2
  client_limit = 1000
}
service imap {
  process_limit = 1000
}
service lmtp {
  unix_listener lmtp {
    mode = 0666
  }
}
service auth {
  unix_listener auth-postfix {
    mode = 0666
  }
}
# No auth penalty for failed logins from 127.0.0.1 (the master neither
# creates nor removes a mode-0 socket; start.sh deletes a stale one).
service anvil {
  unix_listener anvil-auth-penalty {
    mode = 0
  }
}
EOF

# --- Postfix ----------------------------------------------------------------
PC="$S/postfix/conf"
if [ "$ANY_USER" = 1 ]; then
    VMAPS="static:OK"
else
    VMAPS="texthash:$PC/vmailbox"
fi
for u in $USERS; do printf '%s OK\n' "$(printf %s "${u%%:*}" | tr 'A-Z' 'a-z')"; done \
    | write_file "$PC/vmailbox"

write_file "$PC/main.cf" <<EOF
# Generated by start.sh.
compatibility_level = 3.6
queue_directory = $S/postfix/queue
data_directory = $S/postfix/data
syslog_name = $INSTANCE
maillog_file = $S/log/postfix.log
maillog_file_prefixes = $S/log
mail_owner = postfix
setgid_group = postdrop

myhostname = mail.mailstack.test
mydomain = mailstack.test
myorigin = \$mydomain
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
smtpd_peername_lookup = no
smtp_dns_support_level = disabled
smtpd_banner = \$myhostname ESMTP mailstack
biff = no
append_dot_mydomain = no
readme_directory = no

# No local delivery at all.
mydestination =
local_recipient_maps =
local_transport = error:5.1.1 local delivery is disabled
alias_maps =
alias_database =

# Test domains go to Dovecot over LMTP; everything else is refused.
virtual_mailbox_domains = $DOMAINS
virtual_mailbox_maps = $VMAPS
virtual_alias_maps =
virtual_transport = lmtp:unix:$RUN/lmtp
default_transport = error:5.7.1 only the test domains are delivered
relay_transport = error:5.7.1 only the test domains are delivered
relay_domains =
smtpd_relay_restrictions = permit_auth_destination, check_recipient_access static:{550 5.7.1 only the test domains are delivered}, reject
smtpd_recipient_restrictions = reject_unlisted_recipient
smtpd_reject_unlisted_recipient = yes
unknown_virtual_mailbox_reject_code = 550

smtpd_sasl_auth_enable = yes
smtpd_sasl_type = dovecot
smtpd_sasl_path = $RUN/auth-postfix
smtpd_sasl_security_options = noanonymous
broken_sasl_auth_clients = yes

smtpd_tls_security_level = may
smtpd_tls_cert_file = $T/server.pem
smtpd_tls_key_file = $T/server.key
smtpd_tls_loglevel = 0
smtp_tls_security_level = none
lmtp_tls_security_level = none

# Dovecot 2.3 LMTP does not offer SMTPUTF8: mail accepted with it would bounce.
smtputf8_enable = no
message_size_limit = 62914560
mailbox_size_limit = 0

# Fast retries of mail deferred while Dovecot is down.
queue_run_delay = 5s
minimal_backoff_time = 5s
maximal_backoff_time = 10s
# No artificial slowness for tests.
in_flow_delay = 0
smtpd_error_sleep_time = 0
smtpd_soft_error_limit = 1000
smtpd_hard_error_limit = 1000
smtpd_client_connection_count_limit = 0
EOF

{
cat <<EOF
# Generated by start.sh. Nothing is chrooted: the Dovecot sockets are absolute paths.
# service type  private unpriv  chroot  wakeup  maxproc command + args
127.0.0.1:$SMTP_PORT inet n - n - - smtpd
127.0.0.1:$SUBMISSION_PORT inet n - n - - smtpd
  -o syslog_name=$INSTANCE/submission
  -o smtpd_tls_security_level=encrypt
  -o smtpd_tls_auth_only=yes
  -o smtpd_sasl_auth_enable=yes
  -o smtpd_client_restrictions=permit_sasl_authenticated,reject
127.0.0.1:$SMTPS_PORT inet n - n - - smtpd
  -o syslog_name=$INSTANCE/smtps
  -o smtpd_tls_wrappermode=yes
  -o smtpd_sasl_auth_enable=yes
  -o smtpd_client_restrictions=permit_sasl_authenticated,reject
EOF
for x in $EXTRA_PORTS; do echo "127.0.0.1:$x inet n - n - - smtpd"; done
cat <<'EOF'
pickup    unix  n       -       n       60      1       pickup
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
tlsmgr    unix  -       -       n       1000?   1       tlsmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
flush     unix  n       -       n       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
proxywrite unix -       -       n       -       1       proxymap
smtp      unix  -       -       n       -       -       smtp
relay     unix  -       -       n       -       -       smtp
showq     unix  n       -       n       -       -       showq
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
lmtp      unix  -       -       n       -       -       lmtp
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
EOF
} | write_file "$PC/master.cf"

# --- env file for the tests --------------------------------------------------
user_list=$(for u in $USERS; do printf '%s\n' "${u%%:*}"; done | tr 'A-Z' 'a-z' | paste -sd,)
write_file "$S/env" <<EOF
MAILSTACK_STATE_DIR=$S
MAILSTACK_HOST=127.0.0.1
MAILSTACK_TLS_NAME=localhost
MAILSTACK_IMAP_PORT=$IMAP_PORT
MAILSTACK_IMAPS_PORT=$IMAPS_PORT
MAILSTACK_SMTP_PORT=$SMTP_PORT
MAILSTACK_SUBMISSION_PORT=$SUBMISSION_PORT
MAILSTACK_SMTPS_PORT=$SMTPS_PORT
MAILSTACK_SMTP_EXTRA_PORTS=$(echo "$EXTRA_PORTS" | tr ' ' ',')
MAILSTACK_CA=$T/ca.pem
MAILSTACK_ANY_USER=$ANY_USER
MAILSTACK_PASSWORD=$PASSWORD
MAILSTACK_USERS=$user_list
MAILSTACK_USERS_FILE=$USERS_FILE
MAILSTACK_DOMAINS=$(echo "$DOMAINS" | tr ' ' ',')
MAILSTACK_MAIL_DIR=$S/mail
MAILSTACK_DOVECOT_CONF=$DC
MAILSTACK_POSTFIX_CONF=$PC
MAILSTACK_LOG_DIR=$S/log
EOF

# --- start what is down, reload what changed ---------------------------------
started=()
on_exit() {
    rc=$?
    if [ $rc -ne 0 ] && [ ${#started[@]} -gt 0 ]; then
        echo "start.sh: failed; stopping what this run started: ${started[*]} (logs: $S/log)" >&2
        MAILSTACK_STOP_FAST=1 "$HERE/stop.sh" "$S" "${started[@]}" >&2 || true
    fi
    exit $rc
}
trap on_exit EXIT

check_ports_free() {
    local port
    for port in "$@"; do
        if port_answers "$port"; then
            die "127.0.0.1:$port already answers (another instance? set MAILSTACK_PORT_BASE)"
        fi
    done
}

if [ $dovecot_up = 0 ]; then
    check_ports_free "$IMAP_PORT" "$IMAPS_PORT"
fi
if [ $postfix_up = 0 ]; then
    # shellcheck disable=SC2086
    check_ports_free "$SMTP_PORT" "$SUBMISSION_PORT" "$SMTPS_PORT" $EXTRA_PORTS
fi

if [ $dovecot_up = 0 ]; then
    # leftovers of a master that died
    p=$(dovecot_pid); if [ -n "$p" ] && group_has_exe "$p" dovecot; then "$HERE/stop.sh" "$S" dovecot; fi
    rm -f "$RUN/master.pid" "$RUN/anvil-auth-penalty"
    /usr/sbin/dovecot -c "$DC" </dev/null >>"$S/log/dovecot.log" 2>&1 \
        || die "dovecot failed to start; see $S/log/dovecot.log"
    started+=(dovecot)
elif changed "$DC" "$USERS_FILE" "$DOMAINS_FILE"; then
    # passwd-files are re-read on change anyway; a reload is cheap and certain.
    kill -HUP "$(dovecot_pid)"
fi

if [ $postfix_up = 0 ]; then
    p=$(postfix_pid); if [ -n "$p" ] && group_has_exe "$p" postfix; then "$HERE/stop.sh" "$S" postfix; fi
    /usr/sbin/postfix -c "$PC" start </dev/null >>"$S/log/postfix.log" 2>&1 \
        || { started+=(postfix); die "postfix failed to start; see $S/log/postfix.log"; }
    started+=(postfix)
elif changed "$PC/main.cf" "$PC/master.cf" "$PC/vmailbox"; then
    /usr/sbin/postfix -c "$PC" reload </dev/null >>"$S/log/postfix.log" 2>&1
fi

# --- readiness: greetings on the plain ports ----------------------------------
wait_greeting "$IMAP_PORT" '* OK'
wait_greeting "$SMTP_PORT" '220 '
wait_greeting "$SUBMISSION_PORT" '220 '
echo "mailstack: up (imap $IMAP_PORT, imaps $IMAPS_PORT, smtp $SMTP_PORT, submission $SUBMISSION_PORT, smtps $SMTPS_PORT); env: $S/env"
