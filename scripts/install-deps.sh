#!/usr/bin/env bash
# Install proxflow's Debian 12 packages (scripts/debian-packages.txt). Idempotent.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
pkgs=$(grep -v '^#' "$here/debian-packages.txt" | tr '\n' ' ')
missing=$(dpkg-query -W -f='${Package} ${Status}\n' $pkgs 2>/dev/null | awk '$4 != "installed" {print $1}' || true)
# dpkg-query omits packages it has never heard of: compare the counts too
known=$(dpkg-query -W -f='${Package} ${Status}\n' $pkgs 2>/dev/null | awk '$4 == "installed"' | wc -l || true)
if [ -z "$missing" ] && [ "$known" -eq "$(echo $pkgs | wc -w)" ]; then
  echo "install-deps: all $(echo $pkgs | wc -w) packages present"
  exit 0
fi
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO=sudo
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends $pkgs
