#!/usr/bin/env bash
# Prepares a Debian 12 machine to build, run and test eda-studio.
#
# Idempotent: installs only the Debian packages that are missing (one
# `apt-get update` first, and only when something is missing), then checks
# the Rust toolchain. Runs as root, or as a user with sudo (used for apt-get
# only, so that the user's own rustup toolchain is the one checked).
#
# The Rust toolchain is not installed here: on our machines rustup's
# toolchain is preinstalled and rustup's download site is not reachable, so
# a missing or old cargo is reported instead.
set -euo pipefail

# Debian packages, one per line.
APT_PACKAGES=(
	ca-certificates # cargo fetching crates over HTTPS
	gcc             # the linker rustc drives, and crates that build C (SQLite for rusqlite)
	libc6-dev       # crt files and libc headers for that linker
	# The window: eframe opens these at run time (dlopen), none is needed to build.
	libx11-6 libx11-xcb1 libxcb1 libxcursor1 libxi6 libxrandr2
	libxkbcommon0 libxkbcommon-x11-0 libwayland-client0
	libgl1 libegl1 libgl1-mesa-dri libglx-mesa0 libegl-mesa0 # OpenGL, software (llvmpipe) when there is no GPU
	fonts-dejavu-core # the font SVG/PNG export renders labels with
)

# `setup-debian.sh --screenshot-tools` also installs what packaging/screenshot.sh
# needs to run the window on a virtual display and capture it.
if [[ ${1:-} == --screenshot-tools ]]; then
	APT_PACKAGES+=(xvfb xauth x11-apps imagemagick xdotool)
fi

# Oldest toolchain that builds the crate (`rust-version` in Cargo.toml).
MIN_RUST=1.95

say() { printf 'setup-debian: %s\n' "$*" >&2; }
die() {
	say "error: $*"
	exit 1
}

as_root() {
	if [[ $(id -u) -eq 0 ]]; then
		"$@"
	elif command -v sudo >/dev/null 2>&1; then
		sudo "$@"
	else
		die "need root to run '$*': run this script as root or install sudo"
	fi
}

is_installed() {
	[[ $(dpkg-query -W -f='${Status}' "$1" 2>/dev/null) == "install ok installed" ]]
}

install_missing_packages() {
	command -v dpkg-query >/dev/null 2>&1 || die "this script is for Debian (dpkg-query not found)"
	local missing=() pkg
	for pkg in "${APT_PACKAGES[@]}"; do
		is_installed "$pkg" || missing+=("$pkg")
	done
	if [[ ${#missing[@]} -eq 0 ]]; then
		say "Debian packages already installed: ${APT_PACKAGES[*]}"
		return
	fi
	say "installing Debian packages: ${missing[*]}"
	as_root env DEBIAN_FRONTEND=noninteractive apt-get update -q
	as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
}

# True when version $1 (x.y[.z]) is at least $2 (x.y).
version_at_least() {
	local have_major have_minor want_major want_minor
	IFS=. read -r have_major have_minor _ <<<"$1"
	IFS=. read -r want_major want_minor _ <<<"$2"
	((have_major > want_major || (have_major == want_major && have_minor >= want_minor)))
}

# The cargo that the README's next command will run: the one on PATH, or,
# when this script itself runs under sudo, the invoking user's rustup one.
find_cargo() {
	if command -v cargo >/dev/null 2>&1; then
		command -v cargo
	elif [[ $(id -u) -eq 0 && -n ${SUDO_USER:-} ]]; then
		local user_home
		user_home=$(getent passwd "$SUDO_USER" | cut -d: -f6)
		[[ -x $user_home/.cargo/bin/cargo ]] && echo "$user_home/.cargo/bin/cargo"
	fi
	return 0
}

check_rust() {
	local hint="install Rust $MIN_RUST or newer with rustup (https://rustup.rs), then open a new shell"
	local cargo
	cargo=$(find_cargo)
	if [[ -z $cargo ]]; then
		local home_cargo="${CARGO_HOME:-$HOME/.cargo}/bin/cargo"
		if [[ -x $home_cargo ]]; then
			die "cargo is installed at $home_cargo but not on PATH: run 'source ${CARGO_HOME:-\$HOME/.cargo}/env' (or open a new shell) and retry"
		fi
		die "cargo not found; $hint"
	fi
	local version_line version
	version_line=$("$cargo" --version) || die "'$cargo --version' failed; $hint"
	version=$(awk '{print $2}' <<<"$version_line")
	[[ $version =~ ^[0-9]+\.[0-9]+ ]] || die "cannot read cargo's version from '$version_line'"
	version_at_least "$version" "$MIN_RUST" ||
		die "cargo $version is too old (need $MIN_RUST or newer): run 'rustup update stable', or $hint"
	say "Rust toolchain ok: $version_line ($cargo)"
}

if [[ -r /etc/os-release ]] && ! grep -qi '^ID=debian\|^ID_LIKE=.*debian' /etc/os-release; then
	say "warning: not a Debian system; trying anyway"
fi
install_missing_packages
check_rust
say "ready"
