#!/usr/bin/env bash
# Brings a fresh Debian machine to the point where `npm run demo` and `npm test` work:
# system packages (as root), node modules (only when the lockfile changed), build, and `pscs` on
# PATH (scripts/link-bin.sh).
# Idempotent: a second run installs nothing and only rebuilds.
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf 'bootstrap: %s\n' "$*" >&2; }

# --- Node.js -----------------------------------------------------------------------------------
node_ok=$(node -e 'const [a,b]=process.versions.node.split(".").map(Number); console.log(a>20||(a===20&&b>=19)?1:0)' 2>/dev/null || echo 0)
if [ "$node_ok" != 1 ]; then
  say "Node.js 20.19 or newer is required (found: $(node --version 2>/dev/null || echo none))"
  exit 1
fi

# --- Debian packages ---------------------------------------------------------------------------
# Each check names the package that provides it; only what is missing gets installed.
missing=()
need_cmd() { command -v "$1" >/dev/null 2>&1 || missing+=("$2"); }
need_gst() { gst-inspect-1.0 "$1" >/dev/null 2>&1 || missing+=("$2"); }

need_cmd ffmpeg ffmpeg
need_cmd ffprobe ffmpeg
need_cmd gst-inspect-1.0 gstreamer1.0-tools
need_cmd chromium chromium
# The package zip tests check that a stock unzip accepts what pscs writes.
need_cmd unzip unzip
# The export benchmark downloads with curl and hashes its baseline with openssl beside sha256sum.
need_cmd curl curl
need_cmd openssl openssl
if command -v gst-inspect-1.0 >/dev/null 2>&1; then
  need_gst udpsrc gstreamer1.0-plugins-good
  need_gst rtph264depay gstreamer1.0-plugins-good
  need_gst rtph264pay gstreamer1.0-plugins-good
  need_gst h264parse gstreamer1.0-plugins-bad
  need_gst x264enc gstreamer1.0-plugins-ugly
  need_gst videoconvert gstreamer1.0-plugins-base
  need_gst textoverlay gstreamer1.0-x
  need_gst rtpbin gstreamer1.0-rtsp
else
  missing+=(gstreamer1.0-plugins-base gstreamer1.0-plugins-good gstreamer1.0-plugins-ugly gstreamer1.0-plugins-bad gstreamer1.0-x gstreamer1.0-rtsp)
fi
# The simulator's RTSP server is python3-gi + gst-rtsp-server; Debian's /usr/bin/python3 is the one
# that sees python3-gi (a pyenv python3 earlier on PATH does not).
if ! /usr/bin/python3 -c 'import gi; gi.require_version("GstRtspServer", "1.0"); from gi.repository import GstRtspServer' >/dev/null 2>&1; then
  missing+=(python3-gi gir1.2-gst-rtsp-server-1.0 gstreamer1.0-rtsp)
fi

# promtool (Debian package prometheus) checks /metrics in the tests. Only its static binary is taken
# from the package: installing the package would also start a Prometheus server nobody asked for.
promtool_cmd='cd /tmp && apt-get download prometheus && dpkg-deb --fsys-tarfile prometheus_*.deb | tar -xO ./usr/bin/promtool > /usr/local/bin/promtool && chmod 755 /usr/local/bin/promtool && rm prometheus_*.deb'
need_promtool=0
command -v promtool >/dev/null 2>&1 || need_promtool=1

if [ "$(id -u)" != 0 ] && { [ ${#missing[@]} -gt 0 ] || [ $need_promtool = 1 ]; }; then
  if [ ${#missing[@]} -gt 0 ]; then
    mapfile -t missing < <(printf '%s\n' "${missing[@]}" | sort -u)
    say "missing Debian packages: ${missing[*]}"
    say "install them as root:  sudo apt-get install -y ${missing[*]}"
  fi
  [ $need_promtool = 1 ] && say "missing promtool; as root:  sudo sh -c '$promtool_cmd'"
  exit 1
fi
apt_ready=0
if [ ${#missing[@]} -gt 0 ]; then
  mapfile -t missing < <(printf '%s\n' "${missing[@]}" | sort -u)
  say "installing Debian packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  # Another apt run (unattended-upgrades, a parallel bootstrap) holds the lock: wait, do not fail.
  apt_get() { apt-get -q -y -o DPkg::Lock::Timeout=600 "$@"; }
  apt_get update >&2
  apt_ready=1
  apt_get install --no-install-recommends "${missing[@]}" >&2
fi
if [ $need_promtool = 1 ]; then
  say "installing promtool (from Debian's prometheus package, binary only)"
  export DEBIAN_FRONTEND=noninteractive
  [ $apt_ready = 1 ] || apt-get -q -y -o DPkg::Lock::Timeout=600 update >&2
  tmp=$(mktemp -d)
  (cd "$tmp" && apt-get -q -o APT::Sandbox::User=root download prometheus >&2)
  dpkg-deb --fsys-tarfile "$tmp"/prometheus_*.deb | tar -xO ./usr/bin/promtool >/usr/local/bin/promtool.tmp
  chmod 755 /usr/local/bin/promtool.tmp && mv /usr/local/bin/promtool.tmp /usr/local/bin/promtool
  rm -rf "$tmp"
fi

# --- node modules ------------------------------------------------------------------------------
stamp=node_modules/.pscs-lock.sha256
want=$(sha256sum package-lock.json | cut -d' ' -f1)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  say "installing node modules (npm ci)"
  npm ci --no-audit --no-fund >&2
  echo "$want" >"$stamp"
fi

# --- build -------------------------------------------------------------------------------------
say "building (tsc, esbuild)"
npx tsc -p tsconfig.json >&2
node scripts/build-web.mjs >&2
chmod +x dist/src/bin/pscs.js dist/src/bin/pscsd.js dist/sim/main.js 2>/dev/null || true

# --- commands ----------------------------------------------------------------------------------
bash scripts/link-bin.sh
say "ready"
