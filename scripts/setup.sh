#!/usr/bin/env bash
# Creates .venv and installs safecity with pinned dependencies, plus the
# front-end libraries the web app serves itself (never from a CDN).
# Usage: scripts/setup.sh [base|test]
set -euo pipefail
cd "$(dirname "$0")/.."
profile="${1:-base}"
stamp=".venv/.installed-${profile}"

as_root() { [ "$(id -u)" = 0 ]; }
apt_updated=""
apt_install() {
    if ! as_root; then
        echo "safecity set-up needs the Debian packages: $* (run as root, or install them)" >&2
        exit 1
    fi
    if [ -z "$apt_updated" ]; then apt-get update -q >&2; apt_updated=1; fi
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$@" >&2
}

python3 -c 'import sys; assert sys.version_info >= (3, 11), sys.version' \
    || { echo "safecity needs Python 3.11 or newer" >&2; exit 1; }
if [ ! -x .venv/bin/python ]; then
    python3 -m venv .venv 2>/dev/null || { apt_install python3-venv; rm -rf .venv; python3 -m venv .venv; }
fi
command -v npm >/dev/null || apt_install nodejs npm
# Site gateways' MQTT broker, and GStreamer's RTSP server for the simulated cameras
# (Debian's own python3 imports it; see ENVIRONMENT.md).
command -v mosquitto >/dev/null || apt_install mosquitto mosquitto-clients
if ! /usr/bin/python3 -c 'import gi; gi.require_version("GstRtspServer", "1.0")' 2>/dev/null; then
    apt_install gstreamer1.0-tools gstreamer1.0-plugins-base gstreamer1.0-plugins-good \
        gstreamer1.0-plugins-bad gstreamer1.0-plugins-ugly gstreamer1.0-libav gstreamer1.0-rtsp \
        gir1.2-gst-rtsp-server-1.0 python3-gi
fi

if [ "$profile" = test ]; then
    [ -x /usr/lib/postgresql/15/bin/initdb ] || apt_install postgresql-15
    [ -x /usr/bin/chromium ] || apt_install chromium
fi

inputs_hash=$(cat pyproject.toml requirements/constraints.txt requirements/no-deps.txt package.json package-lock.json | sha256sum | cut -c1-16)
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$inputs_hash" ] && [ -d src/safecity/web/static/vendor ]; then
    exit 0
fi

extras=""
[ "$profile" = test ] && extras="[test]"
.venv/bin/python -m pip install -q -c requirements/constraints.txt -e ".${extras}" >&2
# Packages whose declared dependencies would replace opencv-python-headless (DESIGN.md).
.venv/bin/python -m pip install -q --no-deps -c requirements/constraints.txt -r requirements/no-deps.txt >&2

npm ci --silent --no-audit --no-fund >&2
vendor=src/safecity/web/static/vendor
rm -rf "$vendor" && mkdir -p "$vendor/leaflet"
cp -r node_modules/leaflet/dist/leaflet.js node_modules/leaflet/dist/leaflet.css \
      node_modules/leaflet/dist/images "$vendor/leaflet/"
cp node_modules/htmx.org/dist/htmx.min.js "$vendor/htmx.min.js"

echo "$inputs_hash" > "$stamp"
