#!/usr/bin/env bash
# Install the Debian packages the tests and the load balancer need, when missing and when allowed (root).
set -euo pipefail
missing=()
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ] || missing+=(nginx)
fc-list 2>/dev/null | grep -qi "Noto Sans CJK" || missing+=(fonts-noto-cjk)
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "note: missing ${missing[*]}; run 'sudo apt-get install -y ${missing[*]}' (browser tests skip locally, fail under CI)" >&2
  exit 0
fi
echo "Installing ${missing[*]} from Debian …"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
