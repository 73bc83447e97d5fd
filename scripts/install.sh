#!/usr/bin/env bash
# Installs drd from this checkout:
#   the program under $PREFIX (default /opt/drd) with its production npm packages,
#   /usr/bin/drctl, the systemd unit, sysusers.d and tmpfiles.d entries, the `drd` system
#   user, its directories with their modes, and an example config when none exists.
#
#   scripts/install.sh [--prefix DIR] [--destdir DIR] [--uninstall]
#
# Run it again to upgrade: the new release goes into PREFIX/releases/VERSION-BUILD and
# PREFIX/current points at it; a release still in use by a process stays until a later
# install finds it unused; a running drd unit is restarted. The config and the data stay.
# DESTDIR (or --destdir) installs into a staging tree for a package: no user is created and
# nothing is chowned there; the package's sysusers.d and tmpfiles.d entries do that on the
# target machine (systemd-sysusers; systemd-tmpfiles --create).
# --uninstall removes the program, drctl, the unit and those entries; the config, the
# catalog, the audit trail, the backups and the drd user stay.
set -euo pipefail

PREFIX="${PREFIX:-/opt/drd}"
DESTDIR="${DESTDIR:-}"
BINDIR="${BINDIR:-/usr/bin}"
UNITDIR="${UNITDIR:-/etc/systemd/system}"
CONFDIR=/etc/drd
STATEDIR=/var/lib/drd
BACKUPDIR=/var/backups/drd
USER_NAME=drd
RUNDIR=/run/drd
# The group of the PostgreSQL server's OS user: archive mode's archive_command (drctl wal push)
# reaches the daemon through a socket in $RUNDIR/wal, which is that group's (setgid).
WAL_GROUP="${WAL_GROUP:-postgres}"
action=install

while [ $# -gt 0 ]; do
  case "$1" in
    --prefix) PREFIX="$2"; shift 2 ;;
    --prefix=*) PREFIX="${1#*=}"; shift ;;
    --destdir) DESTDIR="$2"; shift 2 ;;
    --destdir=*) DESTDIR="${1#*=}"; shift ;;
    --uninstall) action=uninstall; shift ;;
    -h|--help) sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "install.sh: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
done
case "$PREFIX" in /*) ;; *) echo "install.sh: --prefix must be an absolute path, not $PREFIX" >&2; exit 2 ;; esac
DESTDIR="${DESTDIR%/}"
SRC="$(cd "$(dirname "$0")/.." && pwd)"
staging=$([ -n "$DESTDIR" ] && echo yes || echo no)
systemd_running=$([ -z "$DESTDIR" ] && [ -d /run/systemd/system ] && echo yes || echo no)

say() { echo "install.sh: $*"; }

if [ "$staging" = no ] && [ "$(id -u)" -ne 0 ]; then
  echo "install.sh: run as root (or give --destdir to stage a package tree)" >&2
  exit 2
fi

uninstall() {
  if [ "$systemd_running" = yes ] && systemctl list-unit-files drd.service >/dev/null 2>&1; then
    systemctl disable --now drd.service >/dev/null 2>&1 || true
  fi
  rm -rf "$DESTDIR$PREFIX" "$DESTDIR$BINDIR/drctl" "$DESTDIR$UNITDIR/drd.service" \
    "$DESTDIR/usr/lib/sysusers.d/drd.conf" "$DESTDIR/usr/lib/tmpfiles.d/drd.conf"
  [ "$systemd_running" = yes ] && systemctl daemon-reload
  say "removed $PREFIX, $BINDIR/drctl and the drd unit"
  say "kept: $CONFDIR (config and keys), $STATEDIR (catalog, audit trail), $BACKUPDIR (backups) and the $USER_NAME user"
}

# A process (a running daemon, a drctl in progress) has a file below this directory mapped:
# its code came from there, and code it loads later must still be there.
in_use() {
  grep -qsF "$1/" /proc/[0-9]*/maps
}

# The program: built from this checkout if needed, with only the production packages, into
# its own release directory ($PREFIX/releases/VERSION-BUILD); $PREFIX/current points at the
# one installed now. A release is removed only once no process runs from it.
install_program() {
  command -v node >/dev/null || { echo "install.sh: node (20.x) is not installed" >&2; exit 1; }
  if [ ! -f "$SRC/node_modules/.package-lock.json" ] || [ ! -f "$SRC/bundle/main.js" ] || [ ! -f "$SRC/bundle/BUILD" ]; then
    say "building drd in $SRC"
    (cd "$SRC" && npm_config_nodedir="${npm_config_nodedir:-/usr}" npm ci --no-audit --no-fund && npm run --silent build)
  fi
  local root="$DESTDIR$PREFIX" version build release next
  version="$(node -p 'require(process.argv[1]).version' "$SRC/package.json")"
  build="$(cat "$SRC/bundle/BUILD")"
  release="$version-$build"
  install -d -m 0755 "$root" "$root/releases"
  if [ -d "$root/releases/$release" ]; then
    say "release $release is installed already"
  else
    next="$(mktemp -d "$root/releases/.$release.XXXXXX")"
    # Removed on failure, so a half copy never becomes a release.
    trap "rm -rf '$next'" EXIT
    cp -a "$SRC/package.json" "$SRC/package-lock.json" "$SRC/README.md" "$SRC/bin" "$SRC/bundle" "$SRC/config" "$SRC/systemd" "$next/"
    cp -a "$SRC/node_modules" "$next/"
    # Only what the bundle loads at run time stays (scripts/externals.mjs and their
    # dependencies); the bundled packages, the dev tools and optional peers (TypeScript) go.
    node "$SRC/scripts/runtime-packages.mjs" "$next" >/dev/null
    find "$next/node_modules" -mindepth 1 -type d -empty -delete
    chmod -R u=rwX,go=rX "$next"
    # Root's, whoever owns the checkout: code drd runs must not be writable by another user.
    [ "$staging" = no ] && chown -R root:root "$next"
    chmod 0755 "$next" "$next/bin/drctl.js"
    mv "$next" "$root/releases/$release"
    trap - EXIT
  fi
  # The switch is one rename: a drctl started at any moment finds a whole release.
  ln -sfn "releases/$release" "$root/current.tmp"
  mv -T "$root/current.tmp" "$root/current"
  [ "$staging" = no ] && chown -h root:root "$root/current"
  # The release before this one stays (a drctl that has not mapped a file of it yet is not
  # seen by in_use); older ones, and the files of an install from before releases, go once
  # unused.
  local old previous
  previous="$(ls -1td "$root"/releases/*/ 2>/dev/null | sed 's#/$##' | grep -vxF "$root/releases/$release" | head -n1 || true)"
  for old in "$root"/releases/*; do
    [ "$old" = "$root/releases/$release" ] && continue
    if in_use "$old"; then
      say "kept $(basename "$old"): a process still runs from it (removed by an install after it stops)"
    elif [ "$old" != "$previous" ]; then
      rm -rf "$old"
    fi
  done
  if [ -e "$root/node_modules" ]; then
    if in_use "$root"/node_modules || in_use "$root"/bundle; then
      say "kept the previous install's files in $PREFIX: a process still runs from them"
    else
      rm -rf "$root/bin" "$root/bundle" "$root/config" "$root/systemd" "$root/node_modules" "$root/package.json" "$root/package-lock.json" "$root/README.md"
    fi
  fi
  INSTALLED_RELEASE="$release"

  # drctl runs with the node found now, whatever PATH systemd gives, and its start-up flags.
  local node flags
  node="$(command -v node)"
  flags="$(head -n1 "$SRC/bin/drctl.js" | sed -n 's/^#!.*node\(.*\)$/\1/p')"
  install -d -m 0755 "$DESTDIR$BINDIR"
  cat > "$DESTDIR$BINDIR/drctl.tmp" <<SH
#!/bin/sh
# drd's command line; installed by scripts/install.sh.
exec $node$flags $PREFIX/current/bin/drctl.js "\$@"
SH
  chmod 0755 "$DESTDIR$BINDIR/drctl.tmp"
  mv "$DESTDIR$BINDIR/drctl.tmp" "$DESTDIR$BINDIR/drctl"
}

install_system_files() {
  install -d -m 0755 "$DESTDIR$UNITDIR" "$DESTDIR/usr/lib/sysusers.d" "$DESTDIR/usr/lib/tmpfiles.d"
  # The unit names the drctl and the README this install put in place.
  sed -e "s#^ExecStart=/usr/bin/drctl #ExecStart=$BINDIR/drctl #" \
    -e "s#^Documentation=file://.*#Documentation=file://$PREFIX/current/README.md#" \
    "$SRC/systemd/drd.service" > "$DESTDIR$UNITDIR/drd.service"
  chmod 0644 "$DESTDIR$UNITDIR/drd.service"
  cat > "$DESTDIR/usr/lib/sysusers.d/drd.conf" <<EOF
# The unprivileged user drd runs as (systemd-sysusers).
u $USER_NAME - "drd backup daemon" $STATEDIR /usr/sbin/nologin
EOF
  cat > "$DESTDIR/usr/lib/tmpfiles.d/drd.conf" <<EOF
# drd's directories and their modes (systemd-tmpfiles --create). The config is root's,
# readable by drd; the keys, the catalog and the backups are drd's alone.
d $CONFDIR 0750 root $USER_NAME -
z $CONFDIR/drd.yaml 0640 root $USER_NAME -
d $CONFDIR/keys 0700 $USER_NAME $USER_NAME -
d $STATEDIR 0700 $USER_NAME $USER_NAME -
d $BACKUPDIR 0700 $USER_NAME $USER_NAME -
d $RUNDIR 0755 $USER_NAME $USER_NAME -
d $RUNDIR/wal 2750 $USER_NAME $WAL_GROUP -
EOF
  chmod 0644 "$DESTDIR/usr/lib/sysusers.d/drd.conf" "$DESTDIR/usr/lib/tmpfiles.d/drd.conf"
}

create_user() {
  id -u "$USER_NAME" >/dev/null 2>&1 && return
  if command -v systemd-sysusers >/dev/null && systemd-sysusers /usr/lib/sysusers.d/drd.conf 2>/dev/null && id -u "$USER_NAME" >/dev/null 2>&1; then
    :
  else
    useradd --system --user-group --home-dir "$STATEDIR" --no-create-home --shell /usr/sbin/nologin --comment "drd backup daemon" "$USER_NAME"
  fi
  say "created the system user $USER_NAME"
}

# The same modes as the tmpfiles.d entry; owners only on a real install.
make_dirs() {
  local owner="$1"
  dir() { # path mode owner:group
    install -d -m "$2" "$DESTDIR$1"
    [ "$owner" = yes ] && chown "$3" "$DESTDIR$1"
    # After chown, which may clear a setgid bit.
    chmod "$2" "$DESTDIR$1"
  }
  dir "$CONFDIR" 0750 "root:$USER_NAME"
  dir "$CONFDIR/keys" 0700 "$USER_NAME:$USER_NAME"
  dir "$STATEDIR" 0700 "$USER_NAME:$USER_NAME"
  dir "$BACKUPDIR" 0700 "$USER_NAME:$USER_NAME"
  if [ ! -e "$DESTDIR$CONFDIR/drd.yaml" ]; then
    install -m 0640 "$SRC/config/drd.example.yaml" "$DESTDIR$CONFDIR/drd.yaml"
    [ "$owner" = yes ] && chown "root:$USER_NAME" "$DESTDIR$CONFDIR/drd.yaml"
    say "wrote the example config $CONFDIR/drd.yaml: edit it before starting drd"
  else
    say "kept the existing config $CONFDIR/drd.yaml"
  fi
  # /run is made at each boot by the tmpfiles.d entry; a package's tree carries none of it.
  [ "$owner" = yes ] || return 0
  dir "$RUNDIR" 0755 "$USER_NAME:$USER_NAME"
  if getent group "$WAL_GROUP" >/dev/null; then
    dir "$RUNDIR/wal" 2750 "$USER_NAME:$WAL_GROUP"
  else
    say "no group $WAL_GROUP: $RUNDIR/wal (archive mode's socket) is not made; set WAL_GROUP to the PostgreSQL server's group and run again"
  fi
}

check_runtime_tools() {
  local missing=()
  command -v pg_dump >/dev/null || missing+=(postgresql-client)
  command -v zstd >/dev/null || missing+=(zstd)
  [ ${#missing[@]} -eq 0 ] || say "drd also needs: ${missing[*]} (apt-get install ${missing[*]})"
}

if [ "$action" = uninstall ]; then
  uninstall
  exit 0
fi

install_program
install_system_files
if [ "$staging" = yes ]; then
  make_dirs no
  say "staged drd in $DESTDIR (owners are set on the target machine by systemd-sysusers and systemd-tmpfiles --create)"
else
  create_user
  make_dirs yes
  if [ "$systemd_running" = yes ]; then
    systemctl daemon-reload
    # A running daemon goes on with the release it started from until restarted; restart it
    # now (only if it runs). It lets running backups finish or records them interrupted.
    if systemctl is-active --quiet drd.service; then
      systemctl restart drd.service
      say "restarted drd to run $INSTALLED_RELEASE"
    fi
  fi
  check_runtime_tools
  say "installed drd $INSTALLED_RELEASE in $PREFIX/releases ($PREFIX/current)"
  cat <<EOF
Next:
  1. edit $CONFDIR/drd.yaml (the example names every option)
  2. sudo -u $USER_NAME drctl keys init --dir $CONFDIR/keys     # the manifest signing key
  3. sudo -u $USER_NAME drctl config check
  4. systemctl enable --now drd && systemctl status drd
EOF
fi
