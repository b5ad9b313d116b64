# scripts/lib/packages.sh - sourced by scripts/test.sh and scripts/demo.sh.
# ppghr_install_packages PKG...: installs, with apt-get (through sudo when not root), whichever
# of the Debian packages are missing; nothing when all are there. Returns nonzero on failure.
ppghr_install_packages() {
  if ! command -v dpkg-query >/dev/null 2>&1 || ! command -v apt-get >/dev/null 2>&1; then
    echo "no dpkg/apt-get here: not a Debian system; assuming the dependencies are installed"
    return 0
  fi
  local missing=() p
  for p in "$@"; do
    if [[ "$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)" != installed ]]; then
      missing+=("$p")
    fi
  done
  if [[ ${#missing[@]} -eq 0 ]]; then
    echo "all $# packages installed"
    return 0
  fi
  echo "missing: ${missing[*]}"
  local sudo=()
  if [[ $(id -u) -ne 0 ]]; then
    if command -v sudo >/dev/null 2>&1; then
      sudo=(sudo)
    else
      echo "not root and no sudo: install them yourself: apt-get install ${missing[*]}" >&2
      return 1
    fi
  fi
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q &&
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
}
