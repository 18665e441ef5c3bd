#!/bin/sh
# Takes the README screenshots of the real designer window: builds the
# release binary, runs it under Xvfb on the built-in seed diagram and
# captures assets/screenshot.png, then a second run with the Mermaid source
# pane open (assets/screenshot-source.png), then a third that presses Run
# and captures the simulation running: dots on the edges, badges on the
# nodes, the run panels open (assets/screenshot-running.png).
#
# Needs: xvfb x11-apps (xwd) imagemagick (convert) xdotool.
#   apt-get install -y --no-install-recommends xvfb x11-apps imagemagick xdotool
# Environment: WAIT (seconds before the capture, default 8),
#   SCREENSHOT_DISPLAY (X display number, default 91), CARGO_TARGET_DIR,
#   RUN_WAIT (seconds the simulation runs before its capture, default 6),
#   EDA_BIN (an already built binary: skips the release build),
#   ONLY (one of: main, source, running; default all three).
set -eu

cd "$(dirname "$0")/.."
if [ -n "${EDA_BIN:-}" ]; then
    bin="$EDA_BIN"
else
    cargo build --release --bin eda-studio
    bin="${CARGO_TARGET_DIR:-target}/release/eda-studio"
fi
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

# shot OUTPUT ACTION [ENV=VALUE...]: one run of the app, ACTION (shell
# commands, may be empty) once the window is up, one capture.
shot() {
    out="$1"
    action="$2"
    shift 2
    # A fresh HOME: no recent files, no recovery prompt, default theme.
    env HOME="$home" DISPLAY="$display" "$@" "$bin" &
    app=$!
    sleep "$wait"
    if [ -n "$action" ]; then eval "$action"; fi
    # Park the pointer in a corner so no hover highlight shows.
    DISPLAY="$display" xdotool mousemove 1399 899
    sleep 1
    DISPLAY="$display" xwd -root -silent | convert xwd:- "png:$out"
    kill "$app"
    wait "$app" 2>/dev/null || true
    app=""
    echo "wrote $out"
}

# The Run button, left end of the run toolbar (window 1400x900).
press_run="DISPLAY=$display xdotool mousemove 23 34 click 1; sleep ${RUN_WAIT:-6}"

only="${ONLY:-}"
mkdir -p assets
if [ -z "$only" ] || [ "$only" = main ]; then
    shot assets/screenshot.png ""
fi
if [ -z "$only" ] || [ "$only" = source ]; then
    shot assets/screenshot-source.png "" EDA_STUDIO_SOURCE_PANE=1
fi
if [ -z "$only" ] || [ "$only" = running ]; then
    shot assets/screenshot-running.png "$press_run"
fi
