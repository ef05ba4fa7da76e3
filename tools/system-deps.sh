#!/usr/bin/env bash
# The servers and browser the tests start themselves, from Debian's packages: headless
# Chromium, its WebDriver and fonts for Chinese and Arabic (tests/test_browser.py), and
# redis-server (the rate limits' shared storage, tests/test_hardening.py) and PostgreSQL (the
# record store's second kind, tests/pg_server.py). Does nothing when
# they are there; installs them with apt-get when run as root (CI); otherwise says what to
# install. Nothing is downloaded from elsewhere.
set -euo pipefail
have() {
  command -v chromium >/dev/null && command -v chromedriver >/dev/null || return 1
  command -v redis-server >/dev/null || return 1
  command -v initdb >/dev/null || compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null || return 1
  local fonts; fonts="$(fc-list : family 2>/dev/null || true)"  # no grep -q on a pipe: SIGPIPE
  grep "Noto Sans CJK" <<<"$fonts" >/dev/null && grep -i "Noto.*Arabic" <<<"$fonts" >/dev/null
}
if have; then exit 0; fi
PACKAGES="chromium chromium-driver fonts-noto-cjk fonts-noto-core redis-server postgresql"
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $PACKAGES >/dev/null
  have && exit 0
fi
echo "the tests need: $PACKAGES (apt-get install as root)" >&2
exit 1
