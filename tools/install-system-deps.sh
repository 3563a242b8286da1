#!/usr/bin/env bash
# System packages the tests need and a fresh machine may lack: Debian's Chromium (browser tests drive it
# through Playwright's executable_path; Playwright downloads nothing), docker-compose, shellcheck and
# setpriv (the Docker checks). Java 17+ and Maven must be there already: the Kafka test broker runs on them.
set -euo pipefail
need=()
[ -x /usr/bin/chromium ] || need+=(chromium)
[ -x /usr/bin/chromedriver ] || need+=(chromium-driver)
command -v shellcheck >/dev/null || need+=(shellcheck)
command -v setpriv >/dev/null || need+=(util-linux)
command -v docker-compose >/dev/null || need+=(docker-compose)
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then SUDO=sudo; else SUDO=; fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need[@]}" >/dev/null
fi
for tool in java mvn; do
  command -v "$tool" >/dev/null || { echo "missing $tool (Java 17+ and Maven are needed for the Kafka test broker)" >&2; exit 1; }
done
