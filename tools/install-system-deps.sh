#!/usr/bin/env bash
# System packages the tests need and a fresh machine lacks: Debian's Chromium (browser tests drive it
# through Playwright's executable_path; nothing is downloaded by Playwright) and docker-compose (to check
# the compose file). Java 17 and Maven come with the machine (the Kafka test broker needs them).
set -euo pipefail
need=()
[ -x /usr/bin/chromium ] || need+=(chromium)
[ -x /usr/bin/chromedriver ] || need+=(chromium-driver)
command -v docker-compose >/dev/null || need+=(docker-compose)
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then SUDO=sudo; else SUDO=; fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need[@]}" >/dev/null
fi
for tool in java mvn; do
  command -v "$tool" >/dev/null || { echo "missing $tool (Java 17+ and Maven are needed for the Kafka test broker)" >&2; exit 1; }
done
