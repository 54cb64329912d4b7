#!/bin/sh
# Installs (or upgrades, or removes) the Machmon agent on a Raspberry Pi / Debian machine:
#   /opt/machmon/machmon-agent.cjs        the one-file bundle (Node >= 18: Debian's `nodejs`)
#   /etc/machmon/agent.json              its config, mode 600, owned by the "machmon" user
#   /etc/systemd/system/machmon-agent.service   enabled; Restart=always, sandboxed
#   /var/lib/machmon                     the agent's outbox (readings not yet confirmed)
# A second run upgrades in place and keeps the config. Run from the unpacked tarball:
#   sudo ./install.sh --broker-url mqtt://server:1883 --host-key 'this Pi's key'   (or --password 'fleet password')
# Without a password and config it still installs: the config then comes at first boot from
# /boot/firmware/machmon.json (see README, "Flash a fleet").
set -eu

PROG=machmon-agent-install
USER_NAME=machmon
UNIT=machmon-agent.service
here=$(cd "$(dirname "$0")" && pwd)

usage() {
	cat <<EOF
Usage: $0 [options]
  --broker-url URL    MQTT URL of the broker, e.g. mqtt://monitor.lan:1883  (env MACHMON_BROKER_URL)
  --host-key KEY      this host's own key: \`machmon host-key <hostname>\` on the server prints it
                      (broker.auth hostKeys or both); it opens this host's login only
                                                                            (env MACHMON_HOST_KEY)
  --host-key-file F   read the host key from file F (keeps it out of the process list)
  --password PW       the fleet password, where the broker takes it          (env MACHMON_PASSWORD)
  --password-file F   read the password from file F
  --hostname NAME     MQTT username / host name in the data; default: the machine's hostname
                                                                            (env MACHMON_HOSTNAME)
  --ca-file FILE      CA certificate for an mqtts:// broker with a private CA: copied to
                      /etc/machmon/ca.pem and set as agent.caFile
  --bundle FILE       machmon-agent.cjs to install (default: the one beside this script)
  --node PATH         node binary the unit runs (default: /usr/bin/node)
  --reconfigure       rewrite /etc/machmon/agent.json from the options even if it exists
  --no-start          install and enable, but do not (re)start the service now
  --root DIR          install into DIR instead of / (image building, tests): no apt, no start
  --uninstall         stop and remove the service and the bundle; keeps config, data and user
  --purge             with --uninstall: also remove /etc/machmon, /var/lib/machmon and the user
  --help              this text
EOF
}

say() { printf '%s: %s\n' "$PROG" "$*"; }
die() { printf '%s: %s\n' "$PROG" "$*" >&2; exit 1; }

ROOT=
BROKER_URL=${MACHMON_BROKER_URL:-}
PASSWORD=${MACHMON_PASSWORD:-}
HOST_KEY=${MACHMON_HOST_KEY:-}
HOST_NAME=${MACHMON_HOSTNAME:-}
CA_FILE=
BUNDLE=$here/machmon-agent.cjs
NODE=/usr/bin/node
RECONFIGURE=no
START=yes
ACTION=install
PURGE=no

need_arg() { if [ $# -lt 2 ] || [ -z "$2" ]; then die "$1 needs a value"; fi; }
while [ $# -gt 0 ]; do
	case $1 in
	--broker-url) need_arg "$@"; BROKER_URL=$2; shift ;;
	--password) need_arg "$@"; PASSWORD=$2; shift ;;
	--password-file) need_arg "$@"; [ -r "$2" ] || die "cannot read $2"; PASSWORD=$(head -n 1 "$2"); shift ;;
	--host-key) need_arg "$@"; HOST_KEY=$2; shift ;;
	--host-key-file) need_arg "$@"; [ -r "$2" ] || die "cannot read $2"; HOST_KEY=$(head -n 1 "$2"); shift ;;
	--hostname) need_arg "$@"; HOST_NAME=$2; shift ;;
	--ca-file) need_arg "$@"; [ -r "$2" ] || die "cannot read $2"; CA_FILE=$2; shift ;;
	--bundle) need_arg "$@"; BUNDLE=$2; shift ;;
	--node) need_arg "$@"; NODE=$2; shift ;;
	--root) need_arg "$@"; ROOT=$(cd "$2" && pwd) || die "--root $2 is not a directory"; shift ;;
	--reconfigure) RECONFIGURE=yes ;;
	--no-start) START=no ;;
	--uninstall) ACTION=uninstall ;;
	--purge) PURGE=yes ;;
	-h | --help) usage; exit 0 ;;
	*) usage >&2; die "unknown option $1" ;;
	esac
	shift
done
[ "$ROOT" = / ] && ROOT=
[ "$(id -u)" -eq 0 ] || die "run as root (sudo $0 ...)"
case $NODE in /*) ;; *) die "--node needs an absolute path" ;; esac
if [ -n "$HOST_NAME" ] && ! printf '%s' "$HOST_NAME" | grep -Eq '^[A-Za-z0-9_.-]+$'; then
	die "--hostname must be letters, digits, . _ - (it is the MQTT username)"
fi
if [ -n "$HOST_KEY" ]; then
	[ -z "$PASSWORD" ] || die "give either --host-key or --password, not both (the host key replaces the fleet password)"
	# As `machmon host-key` prints it: 6 groups of 4 of 0-9 a-z without i l o u.
	printf '%s' "$HOST_KEY" | grep -Eq '^[0-9a-hjkmnp-tv-z]{4}(-[0-9a-hjkmnp-tv-z]{4}){5}$' ||
		die "--host-key is not a host key as \`machmon host-key <hostname>\` prints it (xxxx-xxxx-xxxx-xxxx-xxxx-xxxx)"
	PASSWORD=$HOST_KEY
fi

OPT=$ROOT/opt/machmon
ETC=$ROOT/etc/machmon
CONFIG=$ETC/agent.json
STATE=$ROOT/var/lib/machmon
UNITDIR=$ROOT/etc/systemd/system
WANTS=$UNITDIR/multi-user.target.wants

# systemd is running (not a chroot, container or --root install)?
systemd_live() { [ -z "$ROOT" ] && [ -d /run/systemd/system ] && command -v systemctl >/dev/null 2>&1; }

# Account lookups read the target's own files, so they work for --root too.
user_field() { awk -F: -v u="$1" -v f="$2" '$1 == u { print $f; exit }' "$ROOT/etc/passwd" 2>/dev/null; }
group_exists() { grep -q "^$1:" "$ROOT/etc/group" 2>/dev/null; }
with_root() { if [ -n "$ROOT" ]; then "$@" --root "$ROOT"; else "$@"; fi; }

enable_unit() {
	if systemd_live; then
		systemctl daemon-reload
		systemctl enable "$UNIT" >/dev/null 2>&1 || die "systemctl enable $UNIT failed"
	elif [ -n "$ROOT" ] && command -v systemctl >/dev/null 2>&1 && systemctl --root="$ROOT" enable "$UNIT" >/dev/null 2>&1; then
		: # offline enable into the image
	else
		# No systemctl: the same symlink `systemctl enable` makes for WantedBy=multi-user.target.
		mkdir -p "$WANTS"
		ln -sfn "/etc/systemd/system/$UNIT" "$WANTS/$UNIT"
	fi
}

uninstall() {
	if systemd_live; then
		systemctl disable --now "$UNIT" >/dev/null 2>&1 || true
	fi
	rm -f "$WANTS/$UNIT" "$UNITDIR/$UNIT"
	systemd_live && systemctl daemon-reload
	rm -rf "$OPT"
	if [ "$PURGE" = yes ]; then
		rm -rf "$ETC" "$STATE"
		if [ -n "$(user_field "$USER_NAME" 1)" ]; then with_root userdel "$USER_NAME"; fi
		say "removed the agent, its config, its data and the user $USER_NAME"
	else
		say "removed the agent; kept $CONFIG, $STATE and the user $USER_NAME (--purge removes them)"
	fi
}

ensure_node() {
	[ -n "$ROOT" ] && return 0 # the image's node is not ours to run
	if [ ! -x "$NODE" ]; then
		if [ "$NODE" = /usr/bin/node ] && command -v apt-get >/dev/null 2>&1; then
			say "installing Debian's nodejs"
			DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends nodejs >/dev/null ||
				die "apt-get install nodejs failed (try: apt-get update)"
		else
			die "no node at $NODE (install the nodejs package or pass --node)"
		fi
	fi
	"$NODE" -e 'process.exit(Number(process.versions.node.split(".")[0]) >= 18 ? 0 : 1)' ||
		die "$NODE is $("$NODE" --version); the agent needs Node 18 or newer"
}

ensure_user() {
	if [ -z "$(user_field "$USER_NAME" 1)" ]; then
		with_root useradd --system --user-group --no-create-home --home-dir /var/lib/machmon \
			--shell /usr/sbin/nologin --comment "Machmon agent" "$USER_NAME" 2>&1 |
			grep -v 'missing or non-executable shell' >&2 || true
		[ -n "$(user_field "$USER_NAME" 1)" ] || die "could not create the user $USER_NAME"
		say "created the system user $USER_NAME"
	fi
	# /sys is world-readable. gpio: GPIO sensors (onoff); video: the firmware mailbox (throttling);
	# adm and systemd-journal: the system log the logs metric reads. Only groups that exist here.
	for g in gpio video adm systemd-journal; do
		if group_exists "$g"; then with_root usermod -a -G "$g" "$USER_NAME"; fi
	done
}

# The agent's config as JSON, written by node so that any password is escaped correctly.
write_config() {
	tmp=$CONFIG.tmp.$$
	ca=
	[ -n "$CA_FILE" ] && ca=/etc/machmon/ca.pem
	(umask 077 && MI_URL=$BROKER_URL MI_PASSWORD=$PASSWORD MI_HOST=$HOST_NAME MI_CA=$ca "$JSNODE" -e '
		const agent = {};
		if (process.env.MI_URL) agent.brokerUrl = process.env.MI_URL;
		if (process.env.MI_HOST) agent.hostname = process.env.MI_HOST;
		if (process.env.MI_CA) agent.caFile = process.env.MI_CA;
		agent.password = process.env.MI_PASSWORD;
		process.stdout.write(JSON.stringify({ agent }, null, 2) + "\n");
	' >"$tmp")
	chown "$UID_N:$GID_N" "$tmp"
	chmod 600 "$tmp"
	mv -f "$tmp" "$CONFIG"
}

install_agent() {
	[ -f "$BUNDLE" ] || die "no bundle at $BUNDLE (run from the unpacked machmon-agent tarball, or pass --bundle)"
	unit_src=$(dirname "$BUNDLE")/$UNIT
	[ -f "$unit_src" ] || unit_src=$here/$UNIT
	[ -f "$unit_src" ] || unit_src=$here/../systemd/$UNIT # from a checkout: deploy/pi -> deploy/systemd
	[ -f "$unit_src" ] || die "no $UNIT beside $BUNDLE or this script"
	ensure_node
	# The node that runs this script's small JSON helper: the target's, or for --root the host's.
	JSNODE=$NODE
	if [ -n "$ROOT" ] || [ ! -x "$JSNODE" ]; then JSNODE=$(command -v node) || die "node is needed to write the config"; fi

	ensure_user
	UID_N=$(user_field "$USER_NAME" 3)
	GID_N=$(user_field "$USER_NAME" 4)

	install -d -m 0755 "$OPT"
	install -d -m 0750 -o 0 -g "$GID_N" "$ETC"
	install -d -m 0750 -o "$UID_N" -g "$GID_N" "$STATE"

	previous=$(cat "$OPT/VERSION" 2>/dev/null || true)
	version=$(cat "$(dirname "$BUNDLE")/VERSION" 2>/dev/null || "$JSNODE" "$BUNDLE" --version 2>/dev/null || echo unknown)
	# Replace the bundle atomically: a running agent keeps its open file until the restart.
	install -m 0644 "$BUNDLE" "$OPT/machmon-agent.cjs.new"
	mv -f "$OPT/machmon-agent.cjs.new" "$OPT/machmon-agent.cjs"
	# Bundles before the .cjs name were machmon-agent.js; the unit written below runs the .cjs.
	rm -f "$OPT/machmon-agent.js"
	printf '%s\n' "$version" >"$OPT/VERSION"
	chmod 0644 "$OPT/VERSION"

	if [ -n "$CA_FILE" ]; then
		# Public, but only root may replace it (the path is in the config as agent.caFile).
		install -m 0644 -o 0 -g 0 "$CA_FILE" "$ETC/ca.pem"
	fi
	if [ -f "$CONFIG" ] && [ "$RECONFIGURE" = no ]; then
		[ -n "$PASSWORD$BROKER_URL$HOST_NAME$CA_FILE" ] && say "kept $CONFIG as it is (--reconfigure rewrites it from the options)"
		chown "$UID_N:$GID_N" "$CONFIG"
		chmod 600 "$CONFIG"
	elif [ -n "$PASSWORD" ]; then
		write_config
		say "wrote $CONFIG"
	elif [ "$RECONFIGURE" = yes ]; then
		die "--reconfigure needs --host-key or --password (or MACHMON_HOST_KEY, MACHMON_PASSWORD)"
	else
		say "no config yet: put machmon.json on the boot partition, or run again with --host-key (or --password)"
	fi

	mkdir -p "$UNITDIR"
	sed "s#/usr/bin/node #$NODE #g" "$unit_src" >"$UNITDIR/$UNIT.new"
	chmod 0644 "$UNITDIR/$UNIT.new"
	mv -f "$UNITDIR/$UNIT.new" "$UNITDIR/$UNIT"
	enable_unit

	if [ "$START" = yes ] && systemd_live; then
		if [ -f "$CONFIG" ] || [ -f /boot/firmware/machmon.json ] || [ -f /boot/machmon.json ]; then
			systemctl restart "$UNIT" || die "$UNIT did not start; see: journalctl -u $UNIT"
			say "started $UNIT ($(systemctl is-active "$UNIT" || true)); logs: journalctl -u $UNIT -f"
		fi
	fi
	if [ -n "$previous" ] && [ "$previous" != "$version" ]; then
		say "upgraded machmon-agent $previous -> $version"
	else
		say "installed machmon-agent $version in ${ROOT:-/}"
	fi
}

case $ACTION in
install) install_agent ;;
uninstall) uninstall ;;
esac
