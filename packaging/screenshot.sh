#!/bin/sh
# Takes the README screenshots of the real designer window: builds the
# release binary, runs it under Xvfb on the built-in seed diagram and
# captures assets/screenshot.png, then a second run with the Mermaid source
# pane open (assets/screenshot-source.png).
#
# Needs: xvfb x11-apps (xwd) imagemagick (convert) xdotool.
#   apt-get install -y --no-install-recommends xvfb x11-apps imagemagick xdotool
# Environment: WAIT (seconds before the capture, default 8),
#   SCREENSHOT_DISPLAY (X display number, default 91), CARGO_TARGET_DIR.
set -eu

cd "$(dirname "$0")/.."
cargo build --release --bin eda-studio
bin="${CARGO_TARGET_DIR:-target}/release/eda-studio"
display=":${SCREENSHOT_DISPLAY:-91}"
wait="${WAIT:-8}"
home="$(mktemp -d)"

Xvfb "$display" -screen 0 1400x900x24 -nolisten tcp >/dev/null 2>&1 &
xvfb=$!
app=""
cleanup() {
    if [ -n "$app" ]; then kill "$app" 2>/dev/null || true; fi
    kill "$xvfb" 2>/dev/null || true
    rm -rf "$home"
}
trap cleanup EXIT INT TERM
sleep 2

# shot OUTPUT [ENV=VALUE...]: one run of the app, one capture.
shot() {
    out="$1"
    shift
    # A fresh HOME: no recent files, no recovery prompt, default theme.
    env HOME="$home" DISPLAY="$display" "$@" "$bin" &
    app=$!
    sleep "$wait"
    # Park the pointer in a corner so no hover highlight shows.
    DISPLAY="$display" xdotool mousemove 1399 899
    sleep 1
    DISPLAY="$display" xwd -root -silent | convert xwd:- "png:$out"
    kill "$app"
    wait "$app" 2>/dev/null || true
    app=""
    echo "wrote $out"
}

mkdir -p assets
shot assets/screenshot.png
shot assets/screenshot-source.png EDA_STUDIO_SOURCE_PANE=1
