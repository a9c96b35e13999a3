#!/usr/bin/env bash
# Install the Debian packages the mail stack needs (idempotent).
# Fast no-op when everything is already installed.
set -euo pipefail

PKGS=(dovecot-imapd dovecot-lmtpd postfix swaks libnet-ssleay-perl openssl)

missing=()
for p in "${PKGS[@]}"; do
    st=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)
    [ "$st" = installed ] || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
    exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
    echo "install.sh: must run as root to install: ${missing[*]}" >&2
    exit 1
fi

# Keep the maintainer scripts from starting the system daemons
# (they would listen on 0.0.0.0:143/993/25).
POLICY=/usr/sbin/policy-rc.d
created_policy=0
cleanup() {
    if [ "$created_policy" = 1 ]; then rm -f "$POLICY"; fi
}
trap cleanup EXIT
if [ ! -e "$POLICY" ]; then
    printf '#!/bin/sh\nexit 101\n' > "$POLICY"
    chmod 755 "$POLICY"
    created_policy=1
fi

export DEBIAN_FRONTEND=noninteractive
# No /etc/postfix/main.cf, no /etc/mailname: every instance brings its own config.
echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections

APT=(apt-get -y -q -o DPkg::Lock::Timeout=300)
install() {
    "${APT[@]}" install --no-install-recommends "${missing[@]}"
}
if ! install; then
    echo "install.sh: first install attempt failed, running apt-get update" >&2
    "${APT[@]}" update
    install
fi
