#!/usr/bin/env bash
# Installs what lndx needs to build and test on a fresh Debian machine (idempotent, fast
# when done): libarchive (linked by lndx to read .rar and .7z; needed before the first
# build), LibreOffice (headless converter for legacy .doc/.xls) with python3-uno (its warm
# converter workers), Chromium with its driver
# and the Noto CJK fonts (the report test renders the weekly report's HTML in a real
# headless browser at desktop and phone widths; the book's PDF is set in these fonts),
# poppler-utils (the book test reads the PDF back), Dovecot and Postfix (the real mail stack
# the live tests run on loopback), and python3 for the harness self-test.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"

need=()
installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'ok installed'; }
installed libarchive-dev || need+=(libarchive-dev)
command -v soffice >/dev/null 2>&1 || need+=(libreoffice-writer-nogui libreoffice-calc-nogui)
# The warm converter drives a long-running LibreOffice through the UNO bridge from Debian's
# own python3 (python3-uno is built for it).
installed python3-uno || need+=(python3-uno)
command -v chromium >/dev/null 2>&1 || need+=(chromium)
command -v chromedriver >/dev/null 2>&1 || need+=(chromium-driver)
# Without a CJK font the browser draws Chinese as boxes and every width it measures is wrong.
dpkg-query -W -f='${Status}' fonts-noto-cjk 2>/dev/null | grep -q 'ok installed' || need+=(fonts-noto-cjk)
# pdftotext, pdffonts and pdftoppm read the book's PDF back in tests/book.rs.
command -v pdftotext >/dev/null 2>&1 || need+=(poppler-utils)
if ((${#need[@]})); then
  export DEBIAN_FRONTEND=noninteractive
  apt_install() {
    apt-get install -y -q --no-install-recommends -o DPkg::Lock::Timeout=300 "$@"
  }
  if ! apt_install "${need[@]}" >/tmp/lndx-apt.log 2>&1; then
    apt-get update -q -o DPkg::Lock::Timeout=300 >>/tmp/lndx-apt.log 2>&1
    apt_install "${need[@]}" >>/tmp/lndx-apt.log 2>&1 || { cat /tmp/lndx-apt.log >&2; exit 1; }
  fi
fi

"$here/../tests/mailstack/install.sh"
