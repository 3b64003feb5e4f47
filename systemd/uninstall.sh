#!/bin/sh
# Remove the DigitCam service installed by systemd/install.sh:
#
#   sudo ./systemd/uninstall.sh            # keeps /etc/digitcam and /var/lib/digitcam
#   sudo ./systemd/uninstall.sh --purge    # removes the configuration and the data too
#
# Stops and disables the service, removes the unit, the venv in /opt/digitcam and the
# `digitcam` user. Without --purge the configuration and the readings database stay, so a
# later install.sh picks up where this one left off (systemd re-owns /var/lib/digitcam to the
# new user on start). Knobs as in install.sh: DESTDIR, SYSTEMCTL, SKIP_SYSTEMCTL, OFFLINE,
# SKIP_USER.
set -eu

PURGE=0
for arg in "$@"; do
    case $arg in
        --purge) PURGE=1 ;;
        -h|--help) sed -n '2,11p' "$0"; exit 0 ;;
        *) echo "digitcam uninstall: unknown argument $arg (try --help)" >&2; exit 2 ;;
    esac
done

DESTDIR=${DESTDIR:-}
SYSTEMCTL=${SYSTEMCTL:-systemctl}
SKIP_SYSTEMCTL=${SKIP_SYSTEMCTL:-0}
SKIP_USER=${SKIP_USER:-0}
if [ -n "$DESTDIR" ]; then OFFLINE=${OFFLINE:-1}; else OFFLINE=${OFFLINE:-0}; fi

SERVICE=digitcam.service
USER_NAME=digitcam
UNIT=$DESTDIR/etc/systemd/system/$SERVICE

say() { echo "digitcam uninstall: $*"; }

[ -n "$DESTDIR" ] || [ "$(id -u)" -eq 0 ] || { echo "run as root: sudo $0" >&2; exit 1; }

# Stop first: the user cannot be removed while the daemon runs as it.
if [ "$SKIP_SYSTEMCTL" != 1 ]; then
    if [ "$OFFLINE" = 1 ]; then
        [ ! -e "$UNIT" ] || $SYSTEMCTL --root="${DESTDIR:-/}" disable "$SERVICE"
    else
        $SYSTEMCTL disable --now "$SERVICE" || true  # already gone: nothing to stop
    fi
fi

rm -f "$UNIT"
rm -rf "$DESTDIR/opt/digitcam"
say "removed $SERVICE and /opt/digitcam"

if [ "$SKIP_SYSTEMCTL" != 1 ] && [ "$OFFLINE" != 1 ]; then
    $SYSTEMCTL daemon-reload
    $SYSTEMCTL reset-failed "$SERVICE" 2>/dev/null || true  # forget a failed state, if any
fi

# The group goes too; userdel removes it only when login.defs says USERGROUPS_ENAB yes.
if [ "$SKIP_USER" != 1 ]; then
    if [ -n "$DESTDIR" ]; then
        if grep -q "^$USER_NAME:" "$DESTDIR/etc/passwd" 2>/dev/null; then
            userdel --prefix "$DESTDIR" "$USER_NAME"
        fi
        if grep -q "^$USER_NAME:" "$DESTDIR/etc/group" 2>/dev/null; then
            groupdel --prefix "$DESTDIR" "$USER_NAME"
        fi
    else
        if getent passwd "$USER_NAME" >/dev/null; then userdel "$USER_NAME"; fi
        if getent group "$USER_NAME" >/dev/null; then groupdel "$USER_NAME"; fi
    fi
    say "removed user and group $USER_NAME"
fi

if [ "$PURGE" = 1 ]; then
    # Local drop-ins (systemctl edit digitcam) go with the configuration.
    rm -rf "$DESTDIR/etc/digitcam" "$DESTDIR/var/lib/digitcam" "$UNIT.d"
    say "purged /etc/digitcam and /var/lib/digitcam"
else
    say "kept /etc/digitcam and /var/lib/digitcam (remove them with --purge)"
fi
