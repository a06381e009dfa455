#!/usr/bin/env bash
# Installs the system packages the tests drive (container clients, the reference registry,
# busybox for base images). Idempotent: it touches apt only when something is missing.
set -euo pipefail

# wrk drives the request-rate scenarios of `npm run bench`.
# openssh-server: the git trigger tests serve bare repositories through a real sshd.
PACKAGES=(podman buildah skopeo runc uidmap busybox-static docker-registry wrk openssh-server git curl)

missing=()
for pkg in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$pkg")
  fi
done

if [ "${#missing[@]}" -eq 0 ]; then
  echo "setup: system packages present (${PACKAGES[*]})"
  exit 0
fi

echo "setup: installing ${missing[*]}"
SUDO=()
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null; then SUDO=(sudo); else
    echo "setup: need root (or sudo) to install: ${missing[*]}" >&2
    exit 1
  fi
fi
export DEBIAN_FRONTEND=noninteractive
"${SUDO[@]}" apt-get update
"${SUDO[@]}" apt-get install -y "${missing[@]}"
