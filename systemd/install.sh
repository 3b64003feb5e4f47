#!/bin/sh
# Install or upgrade DigitCam as a systemd service from this checkout:
#
#   sudo ./systemd/install.sh
#
# Lays down: the system user `digitcam` (in group `video`), a virtual environment with the
# device install of this checkout in /opt/digitcam/venv (no torch, no extras), the unit in
# /etc/systemd/system/digitcam.service, and /etc/digitcam/digitcam.toml from the example
# when no configuration exists yet (an existing one is never touched). Then it starts the
# service, or restarts it when it was running: upgrading is running the installer again.
#
# Knobs (environment variables):
#   DESTDIR=/path     lay everything down under this root instead of / (packaging, tests).
#                     systemd is then told offline (systemctl --root) and the user is
#                     created in DESTDIR/etc/passwd. The venv is not relocatable: build an
#                     image by running this script inside it (chroot) rather than with DESTDIR.
#   PYTHON=python3    the interpreter the venv is made from.
#   PIP_ARGS="..."    extra pip arguments (e.g. --index-url, --no-cache-dir).
#   EXTRAS=api        install extras too (api: the HTTP page and API).
#   SYSTEMCTL=...     the systemctl to call.  SKIP_SYSTEMCTL=1  do not call it at all.
#   OFFLINE=0|1       1: only `systemctl --root=DESTDIR enable` (default when DESTDIR is set);
#                     0: daemon-reload and start/restart the running system's service.
#   SKIP_USER=1       do not create the user (it must exist).   SKIP_VENV=1  keep the venv.
set -eu

REPO=$(CDPATH='' cd -- "$(dirname -- "$0")/.." && pwd)
DESTDIR=${DESTDIR:-}
PYTHON=${PYTHON:-python3}
PIP_ARGS=${PIP_ARGS:-}
EXTRAS=${EXTRAS:-}
SYSTEMCTL=${SYSTEMCTL:-systemctl}
SKIP_SYSTEMCTL=${SKIP_SYSTEMCTL:-0}
SKIP_USER=${SKIP_USER:-0}
SKIP_VENV=${SKIP_VENV:-0}
if [ -n "$DESTDIR" ]; then OFFLINE=${OFFLINE:-1}; else OFFLINE=${OFFLINE:-0}; fi

SERVICE=digitcam.service
USER_NAME=digitcam
VENV=$DESTDIR/opt/digitcam/venv
CONF_DIR=$DESTDIR/etc/digitcam
UNIT_DIR=$DESTDIR/etc/systemd/system

say() { echo "digitcam install: $*"; }
die() { echo "digitcam install: $*" >&2; exit 1; }

# Numeric id of a group, read from DESTDIR's files when laying down a separate root.
group_id() {
    if [ -n "$DESTDIR" ]; then
        awk -F: -v name="$1" '$1 == name { print $3 }' "$DESTDIR/etc/group" 2>/dev/null
    else
        getent group "$1" | cut -d: -f3
    fi
}

user_exists() {
    if [ -n "$DESTDIR" ]; then
        grep -q "^$USER_NAME:" "$DESTDIR/etc/passwd" 2>/dev/null
    else
        getent passwd "$USER_NAME" >/dev/null
    fi
}

# $prefix and $groups below are option words or nothing, hence unquoted.
create_user() {
    prefix=""
    [ -z "$DESTDIR" ] || prefix="--prefix $DESTDIR"
    # `video` grants /dev/video*; it exists on Debian and Raspberry Pi OS.
    groups=""
    [ -z "$(group_id video)" ] || groups="--groups video"
    if user_exists; then
        [ -z "$groups" ] || usermod $prefix --append $groups "$USER_NAME"
        return
    fi
    # No home and no login: the daemon keeps its data in /var/lib/digitcam (StateDirectory=).
    useradd $prefix --system --user-group --home-dir /nonexistent --no-create-home \
        --shell /usr/sbin/nologin $groups "$USER_NAME"
    say "created system user $USER_NAME"
}

install_venv() {
    "$PYTHON" -c 'import ensurepip, venv' 2>/dev/null \
        || die "$PYTHON cannot make a venv; install it with: sudo apt-get install python3-venv"
    [ -x "$VENV/bin/python" ] || "$PYTHON" -m venv "$VENV"
    # Build from a copy: pip builds in the source tree, and root-owned build files would be
    # left in the user's checkout.
    src=$(mktemp -d)
    trap 'rm -rf "$src"' EXIT
    tar -C "$REPO" --exclude=./.git --exclude=./.venv --exclude=./data --exclude=./artifacts \
        --exclude=./build --exclude='*.egg-info' --exclude=./mock_frames -cf - . \
        | tar -C "$src" -xf -
    target=$src
    [ -z "$EXTRAS" ] || target="$src[$EXTRAS]"
    # PIP_ARGS is a list of words, hence unquoted.
    "$VENV/bin/pip" install --quiet --disable-pip-version-check $PIP_ARGS "$target"
    rm -rf "$src"
    trap - EXIT
    say "installed $("$VENV/bin/digitcam" --version) in $VENV"
}

install_config() {
    gid=$(group_id "$USER_NAME")
    [ -n "$gid" ] || die "group $USER_NAME does not exist (run without SKIP_USER=1)"
    install -d -m 0755 "$CONF_DIR"
    # Refreshed on every run so new keys are easy to find after an upgrade.
    install -m 0644 "$REPO/config/digitcam.toml" "$CONF_DIR/digitcam.toml.example"
    if [ -e "$CONF_DIR/digitcam.toml" ]; then
        say "keeping existing $CONF_DIR/digitcam.toml (new keys: digitcam.toml.example)"
    else
        # Readable by the service's group only: it may hold the MQTT password or API token.
        install -m 0640 -o 0 -g "$gid" "$REPO/config/digitcam.toml" "$CONF_DIR/digitcam.toml"
        say "wrote $CONF_DIR/digitcam.toml: set camera.source and mqtt.host there"
    fi
}

start_service() {
    [ "$SKIP_SYSTEMCTL" != 1 ] || return 0
    if [ "$OFFLINE" = 1 ]; then
        $SYSTEMCTL --root="${DESTDIR:-/}" enable "$SERVICE"
        return
    fi
    $SYSTEMCTL daemon-reload
    # A camera that is missing does not stop the start (the daemon waits for it); a bad
    # configuration does (exit 78), and the journal says which key.
    hint="$SERVICE did not start; see: journalctl -u digitcam -n 50"
    if $SYSTEMCTL is-active --quiet "$SERVICE"; then
        $SYSTEMCTL enable "$SERVICE"
        $SYSTEMCTL restart "$SERVICE" || die "$hint"
        say "upgraded and restarted $SERVICE"
    else
        $SYSTEMCTL enable --now "$SERVICE" || die "$hint"
        say "started $SERVICE; follow it with: journalctl -u digitcam -f"
    fi
}

[ -n "$DESTDIR" ] || [ "$(id -u)" -eq 0 ] || die "run as root: sudo $0"
[ "$SKIP_USER" = 1 ] || create_user
[ "$SKIP_VENV" = 1 ] || install_venv
install_config
install -d -m 0755 "$UNIT_DIR"
install -m 0644 "$REPO/systemd/digitcam.service" "$UNIT_DIR/$SERVICE"
start_service
