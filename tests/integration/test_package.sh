#!/usr/bin/env bash
# Installed like a Debian service. scripts/package builds the .deb (Release,
# prefix /usr, CPack); its control data declares the libraries' packages
# (dpkg-shlibdeps), the maintainer scripts and the conffile; it holds the
# three programs, the units, sysusers.d/tmpfiles.d entries, a man page per
# program (rendered by groff without a warning, naming every option the
# program's --help prints), the docs and the example configs. On a
# throwaway machine (CI=true as root, or SS_TEST_INSTALL_DEB=1) it is
# installed with apt-get: the programs run, the shelfsync user and the
# root-only secrets directory exist, the installed units pass
# `systemd-analyze verify`, the shipped config passes check-config, a second
# install keeps an edited config; then it is purged and nothing of it stays.
# (A failure there leaves the package installed: the machine is a throwaway.)
source "$(dirname "$0")/lib.sh"
it_setup
it_need_tool groff "apt-get install groff-base"
it_need_tool systemd-analyze "apt-get install systemd"

deb=$("$SS_SOURCE_DIR/scripts/package" "$IT_DIR/build" 2>"$IT_DIR/package.log") ||
    { tail -n 30 "$IT_DIR/package.log"; it_fail "scripts/package failed"; }
[[ -f $deb ]] || it_fail "scripts/package printed no package file: $deb"
it_log "built $(basename "$deb") ($(stat -c %s "$deb") bytes)"

# --- control data ---
depends=$(dpkg-deb -f "$deb" Depends)
for lib in libzmq5 libpq5 libjansson4 libcurl4 libssl3 adduser; do
    [[ ", $depends," == *", $lib"[\ ,]* ]] || it_fail "Depends lacks $lib: $depends"
done
it_log "Depends: $depends"
it_assert_eq "shelfsync" "$(dpkg-deb -f "$deb" Package)" "package name"
dpkg-deb -e "$deb" "$IT_DIR/control"
it_assert_eq "/etc/shelfsync/shelfsyncd.json" "$(cat "$IT_DIR/control/conffiles")" "conffiles"
for s in postinst prerm postrm; do
    [[ -x $IT_DIR/control/$s ]] || it_fail "no executable $s in the package"
    dash -n "$IT_DIR/control/$s" || it_fail "$s is not valid sh (dash)"
done

# --- contents ---
dpkg-deb -c "$deb" | awk '{ print $6 }' | sed 's|^\./|/|' >"$IT_DIR/contents.txt"
for f in /usr/bin/shelfsyncd /usr/bin/shelfsync /usr/bin/shelfsync-collect \
    /usr/lib/systemd/system/shelfsyncd.service /usr/lib/systemd/system/shelfsync-collect@.service \
    /usr/lib/systemd/system/shelfsync-collect@.timer /usr/lib/sysusers.d/shelfsync.conf \
    /usr/lib/tmpfiles.d/shelfsync.conf /usr/share/man/man8/shelfsyncd.8 /usr/share/man/man8/shelfsync.8 \
    /usr/share/man/man1/shelfsync-collect.1 /usr/share/doc/shelfsync/README.md \
    /usr/share/doc/shelfsync/operations.md /usr/share/doc/shelfsync/examples/shelfsyncd.json \
    /usr/share/doc/shelfsync/examples/collectors/koha-checkouts.json /etc/shelfsync/shelfsyncd.json; do
    grep -qxF "$f" "$IT_DIR/contents.txt" || it_fail "the package lacks $f"
done
it_log "ok: programs, units, sysusers/tmpfiles, man pages, docs, examples and the conffile are in it"

# --- man pages: clean roff, every --help option documented ---
man_page() { echo "$SS_SOURCE_DIR/docs/man/$1"; }
for m in shelfsyncd.8 shelfsync.8 shelfsync-collect.1; do
    warn=$(LC_ALL=C.UTF-8 groff -man -Tutf8 -ww -z "$(man_page "$m")" 2>&1)
    [[ -z $warn ]] || it_fail "groff warns about $m: $warn"
done
rendered() { LC_ALL=C groff -man -Tascii -rLL=500n -P -cbou "$(man_page "$1")" 2>/dev/null; }
options_of() { grep -oE -- '--[a-z][a-z-]+' | sort -u; }
check_options() { # PROGRAM MANPAGE HELP-TEXT
    local opt text
    text=$(rendered "$2")
    for opt in $(options_of <<<"$3"); do
        grep -qF -- "$opt" <<<"$text" || it_fail "$1 --help names $opt, its man page $2 does not"
    done
}
check_options shelfsyncd shelfsyncd.8 "$("$SS_BIN_DIR/shelfsyncd" --help 2>&1)"
check_options shelfsync-collect shelfsync-collect.1 "$("$SS_BIN_DIR/shelfsync-collect" --help 2>&1)"
help=$("$SS_BIN_DIR/shelfsync" --help 2>&1 || true)
for cmd in $(grep -oE '^ *(usage: )?shelfsync [a-z-]+' <<<"$help" | awk '{ print $NF }' | sort -u); do
    grep -qE -- "shelfsync $cmd( |\$)" <<<"$(rendered shelfsync.8)" ||
        it_fail "shelfsync $cmd is not in shelfsync(8)"
done
check_options shelfsync shelfsync.8 "$help"
it_log "ok: the man pages render without warnings and name every option and command of --help"

# --- installed on a throwaway machine ---
if [[ ${SS_TEST_INSTALL_DEB:-} != 1 ]] && ! [[ ${CI:-} == true && $EUID == 0 ]]; then
    it_log "not installing the package: this is not a throwaway machine (CI=true as root, or SS_TEST_INSTALL_DEB=1)"
    exit 0
fi
if dpkg-query -W -f='${db:Status-Status}' shelfsync 2>/dev/null | grep -q installed; then
    it_fail "a shelfsync package is installed already: not touching it"
fi
purge() { DEBIAN_FRONTEND=noninteractive apt-get purge -y shelfsync >>"$IT_DIR/apt.log" 2>&1; }
DEBIAN_FRONTEND=noninteractive apt-get install -y "$deb" >"$IT_DIR/apt.log" 2>&1 ||
    { tail -n 30 "$IT_DIR/apt.log"; it_fail "apt-get install of the package failed"; }
it_log "installed $(dpkg-query -W -f='${Package} ${Version}' shelfsync)"
/usr/bin/shelfsyncd --version || it_fail "the installed shelfsyncd does not run"
/usr/bin/shelfsync version || it_fail "the installed shelfsync does not run"
/usr/bin/shelfsync-collect --version || it_fail "the installed shelfsync-collect does not run"
getent passwd shelfsync >/dev/null || it_fail "no shelfsync user after install"
it_assert_eq "700 root" "$(stat -c '%a %U' /etc/shelfsync/secrets)" "the secrets directory"
it_assert_eq "755" "$(stat -c '%a' /etc/shelfsync/collectors)" "the collectors directory"
systemd-analyze verify /usr/lib/systemd/system/shelfsyncd.service \
    /usr/lib/systemd/system/shelfsync-collect@.service /usr/lib/systemd/system/shelfsync-collect@.timer \
    >"$IT_DIR/verify.log" 2>&1 || { cat "$IT_DIR/verify.log"; it_fail "systemd-analyze verify fails on the installed units"; }
/usr/bin/shelfsync check-config /etc/shelfsync/shelfsyncd.json || it_fail "the shipped config fails check-config"
[[ -f /usr/share/man/man8/shelfsyncd.8 ]] || it_fail "no man page installed"
# An edited config survives a reinstall (a conffile).
echo '{"listen": "tcp://127.0.0.1:5999", "insecure": true, "database": {"conninfo": "dbname=x"}}' \
    >/etc/shelfsync/shelfsyncd.json
DEBIAN_FRONTEND=noninteractive apt-get install -y --reinstall -o Dpkg::Options::=--force-confold "$deb" \
    >>"$IT_DIR/apt.log" 2>&1 || it_fail "reinstall failed"
grep -q 5999 /etc/shelfsync/shelfsyncd.json || it_fail "a reinstall overwrote the edited config"
it_log "ok: installed, runs, units verify, the edited config survives a reinstall"
purge || { tail -n 20 "$IT_DIR/apt.log"; it_fail "apt-get purge failed"; }
[[ ! -e /usr/bin/shelfsyncd ]] || it_fail "/usr/bin/shelfsyncd is still there after purge"
[[ ! -e /etc/shelfsync/shelfsyncd.json ]] || it_fail "the conffile is still there after purge"
[[ ! -e /etc/shelfsync ]] || it_fail "/etc/shelfsync (empty) is still there after purge: $(find /etc/shelfsync)"
it_log "ok: purged; the programs and the conffile are gone"
