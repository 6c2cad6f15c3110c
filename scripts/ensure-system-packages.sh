#!/usr/bin/env bash
# Install the Debian packages the project needs when they are missing:
# Korean fonts for charts and screenshots, and Chromium for the browser tests.
# Does nothing when everything is present.
set -euo pipefail
wanted=(fonts-nanum fonts-noto-color-emoji chromium)
missing=()
for p in "${wanted[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
echo "installing Debian packages: ${missing[*]}" >&2
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fc-cache -f >/dev/null 2>&1 || true
