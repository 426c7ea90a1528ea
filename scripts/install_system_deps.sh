#!/usr/bin/env bash
# Install the Debian packages the tests, the PDF report and the load balancer need, when missing and when allowed (root).
set -euo pipefail
missing=()
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ] || missing+=(nginx)
# grep reads its whole input (no -q): with pipefail, a grep that quits early fails the pipe by SIGPIPE.
fc-list 2>/dev/null | grep -i "Noto Sans CJK" >/dev/null || missing+=(fonts-noto-cjk)
# WeasyPrint (the credit report PDF) lays text out with Pango and finds fonts through fontconfig.
ldconfig -p 2>/dev/null | grep "libpango-1.0.so.0" >/dev/null || missing+=(libpango-1.0-0)
ldconfig -p 2>/dev/null | grep "libpangoft2-1.0.so.0" >/dev/null || missing+=(libpangoft2-1.0-0)
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
