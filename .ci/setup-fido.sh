#!/usr/bin/env bash
# The independent FIDO clients the conformance suites drive (test/conformance/): python-fido2 0.9
# (Debian's python3-fido2, for /usr/bin/python3), libfido2 with its headers and pkg-config file,
# fido2-tools, and a C compiler for the libfido2 client. Idempotent: when every package is already
# installed it returns at once, without touching apt.
set -euo pipefail

PACKAGES=(python3-fido2 libfido2-dev fido2-tools pkg-config gcc)

missing=()
for package in "${PACKAGES[@]}"; do
  status=$(dpkg-query -W -f='${Status}' "$package" 2>/dev/null || true)
  [ "$status" = "install ok installed" ] || missing+=("$package")
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "setup-fido: ${PACKAGES[*]} already installed"
  exit 0
fi

SUDO=()
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { echo "setup-fido: need root or sudo to install: ${missing[*]}" >&2; exit 1; }
  SUDO=(sudo)
fi

echo "setup-fido: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
${SUDO[@]+"${SUDO[@]}"} apt-get update -qq
${SUDO[@]+"${SUDO[@]}"} apt-get install -y -qq --no-install-recommends "${missing[@]}"

# What the suites check before running: fail here, with the reason, rather than later.
pkg-config --exists libfido2 || { echo "setup-fido: pkg-config does not find libfido2" >&2; exit 1; }
/usr/bin/python3 -c 'import fido2' || { echo "setup-fido: /usr/bin/python3 cannot import fido2" >&2; exit 1; }
