#!/bin/sh
# test-install.sh: `meson install --destdir` of this build tree into a temporary
# directory, then check the installed tree and run the installed programs
# against the installed plugins. TAP output.
#
# usage: test-install.sh BUILD_ROOT PREFIX SBINDIR BINDIR PKGLIBDIR INCLUDEDIR LIBDIR
#                        MANDIR UNITDIR SYSUSERSDIR DBUSPOLICYDIR POLKITDIR DATADIR EXAMPLEDIR
# (every directory absolute, as meson computed it)
set -u

build=$1 prefix=$2 sbindir=$3 bindir=$4 pkglibdir=$5 includedir=$6 libdir=$7 mandir=$8
unitdir=$9
shift 9
sysusersdir=$1 dbuspolicydir=$2 polkitdir=$3 datadir=$4 exampledir=$5

n=0
failed=0
ok () { n=$((n + 1)); echo "ok $n - $1"; }
not_ok () { n=$((n + 1)); failed=$((failed + 1)); echo "not ok $n - $1"; }
check () { # check DESCRIPTION COMMAND...
	desc=$1
	shift
	if out=$("$@" 2>&1); then ok "$desc"; else not_ok "$desc"; printf '%s\n' "$out" | sed 's/^/# /'; fi
}
diag () { printf '%s\n' "$@" | sed 's/^/# /'; }

dest=$(mktemp -d "${TMPDIR:-/tmp}/efp-install-XXXXXX")
trap 'rm -rf "$dest"' EXIT
D=$dest

# 1. install
if out=$(meson install -C "$build" --destdir "$dest" --no-rebuild 2>&1); then
	ok "meson install --destdir"
else
	not_ok "meson install --destdir"
	printf '%s\n' "$out" | tail -20 | sed 's/^/# /'
	echo "1..$n"
	exit 1
fi

# 2. everything lands under the prefix (units, sysusers, D-Bus and polkit included)
outside=$(cd "$dest" && find . -type f | sed 's|^\.||' | while read -r f; do
	case $f in "$prefix"/*) ;; *) echo "$f" ;; esac
done)
if [ -z "$outside" ]; then ok "every installed file is under $prefix"; else
	not_ok "every installed file is under $prefix"; diag "$outside"; fi

# 3. the files a user and a packager expect
check_file () { if [ -f "$D$1" ]; then ok "installed $1"; else not_ok "installed $1"; fi; }
check_exec () { if [ -x "$D$1" ]; then ok "installed $1"; else not_ok "installed $1"; fi; }
check_exec "$sbindir/ecoflow-powerd"
check_exec "$sbindir/ecoflow-power-agent"
check_exec "$bindir/ecoflow-powerctl"
check_exec "$bindir/ecoflow-decode"
check_exec "$bindir/ecoflow-simulate"
for d in river3plus delta river2 simulated; do check_file "$pkglibdir/decoders/efp-decoder-$d.so"; done
for p in critical-soc runtime comm-lost; do check_file "$pkglibdir/policies/efp-policy-$p.so"; done
for h in efp-decoder.h efp-policy.h efp-reading.h efp-plugin-util.h; do
	check_file "$includedir/ecoflow-power-1/$h"
done
check_file "$libdir/pkgconfig/ecoflow-power-plugin.pc"
check_file "$unitdir/ecoflow-powerd.service"
check_file "$unitdir/ecoflow-power-agent.service"
check_file "$sysusersdir/ecoflow-power.conf"
check_file "$dbuspolicydir/io.github.EcoflowPower1.conf"
check_file "$polkitdir/io.github.EcoflowPower1.policy"
for i in Manager Device Policy Agent; do
	check_file "$datadir/dbus-1/interfaces/io.github.EcoflowPower1.$i.xml"
done
check_file "$exampledir/ecoflow-powerd.conf.example"
for m in man1/ecoflow-powerctl.1 man1/ecoflow-decode.1 man1/ecoflow-simulate.1 \
	man5/ecoflow-powerd.conf.5 man8/ecoflow-powerd.8 man8/ecoflow-power-agent.8; do
	check_file "$mandir/$m"
done

# 4. man pages render without groff warnings
for m in "$D$mandir"/man*/*; do
	name=${m##*/}
	if w=$(LC_ALL=C.UTF-8 groff -man -Tutf8 -ww -z "$m" 2>&1) && [ -z "$w" ]; then
		ok "man page $name renders cleanly"
	else
		not_ok "man page $name renders cleanly"; diag "$w"
	fi
done

# 5. XML: well-formed, and valid against the DTDs when the host has them
check "D-Bus policy is well-formed" xmllint --noout "$D$dbuspolicydir/io.github.EcoflowPower1.conf"
if [ -f /usr/share/polkit-1/policyconfig-1.dtd ]; then
	check "polkit policy is valid (policyconfig-1.dtd)" xmllint --noout \
		--dtdvalid /usr/share/polkit-1/policyconfig-1.dtd "$D$polkitdir/io.github.EcoflowPower1.policy"
else
	check "polkit policy is well-formed" xmllint --noout "$D$polkitdir/io.github.EcoflowPower1.policy"
fi
for x in "$D$datadir"/dbus-1/interfaces/*.xml; do
	check "${x##*/} is well-formed" xmllint --noout "$x"
done
check "polkit action io.github.EcoflowPower1.manage is declared" \
	grep -q 'action id="io.github.EcoflowPower1.manage"' "$D$polkitdir/io.github.EcoflowPower1.policy"
check "D-Bus policy lets only the service user and root own the name" \
	sh -c "grep -c 'allow own=\"io.github.EcoflowPower1\"' '$D$dbuspolicydir/io.github.EcoflowPower1.conf' | grep -qx 2"

# 6. the units: systemd-analyze verify, and the daemon's exposure score <= 2.0.
# verify resolves ExecStart= on this host, so check a copy whose program paths
# point into the install tree; the man pages it looks up are the installed ones.
verify_dir=$dest/verify
mkdir -p "$verify_dir"
for u in ecoflow-powerd.service ecoflow-power-agent.service; do
	sed "s|=$prefix/|=$D$prefix/|g" "$D$unitdir/$u" > "$verify_dir/$u"
	check "systemd-analyze verify $u" env MANPATH="$D$mandir" systemd-analyze verify "$verify_dir/$u"
done
grep -q '^User=ecoflow-power$' "$D$unitdir/ecoflow-powerd.service" &&
	! grep -q '^DynamicUser=' "$D$unitdir/ecoflow-powerd.service" &&
	grep -q '^u ecoflow-power ' "$D$sysusersdir/ecoflow-power.conf" &&
	ok "ecoflow-powerd runs as the static sysusers.d user ecoflow-power" ||
	not_ok "ecoflow-powerd runs as the static sysusers.d user ecoflow-power"
score_line=$(systemd-analyze security --offline=true "$verify_dir/ecoflow-powerd.service" 2>&1 | grep 'Overall exposure level')
score=$(printf '%s\n' "$score_line" | sed -n 's/.*: \([0-9][0-9]*\.[0-9]\).*/\1/p')
diag "$score_line"
if [ -n "$score" ] && awk "BEGIN { exit !($score <= 2.0) }"; then
	ok "systemd-analyze security ecoflow-powerd.service: $score <= 2.0"
else
	not_ok "systemd-analyze security ecoflow-powerd.service: '$score' <= 2.0"
fi
agent_score=$(systemd-analyze security --offline=true "$verify_dir/ecoflow-power-agent.service" 2>&1 | grep 'Overall exposure level')
diag "agent unit (informational): $agent_score"

# 7. the installed programs, with the installed plugins
check "installed ecoflow-powerd --version" "$D$sbindir/ecoflow-powerd" --version
check "installed ecoflow-powerctl --version" "$D$bindir/ecoflow-powerctl" --version
conf=$D$exampledir/ecoflow-powerd.conf.example
if out=$("$D$sbindir/ecoflow-powerd" --check-config --config "$conf" --plugin-dir "$D$pkglibdir" 2>&1) &&
	printf '%s\n' "$out" | grep -q '^\[policy:critical\]' &&
	printf '%s\n' "$out" | grep -q '^module=critical-soc'; then
	ok "installed ecoflow-powerd --check-config accepts the example with the installed plugins"
else
	not_ok "installed ecoflow-powerd --check-config accepts the example with the installed plugins"
	diag "$out"
fi
# without the plugins the same file names an unknown module: proof they were used
empty=$dest/no-plugins
mkdir -p "$empty/decoders" "$empty/policies"
"$D$sbindir/ecoflow-powerd" --check-config --config "$conf" --plugin-dir "$empty" >/dev/null 2>&1
status=$?
if [ "$status" -eq 78 ]; then ok "without plugins the example is refused with 78"; else
	not_ok "without plugins the example is refused with 78 (got $status)"; fi
if out=$(echo '{"soc": 42, "grid_connected": false}' |
	"$D$bindir/ecoflow-decode" --plugin-dir "$D$pkglibdir" --json 2>&1) &&
	printf '%s\n' "$out" | grep -q '"soc":42'; then
	ok "installed ecoflow-decode decodes with the installed simulated decoder"
else
	not_ok "installed ecoflow-decode decodes with the installed simulated decoder"; diag "$out"
fi

# 8. a third-party plugin builds against the installed headers through pkg-config
src=$dest/third-party.c
cat > "$src" <<'EOF'
#include <efp-decoder.h>
#include <efp-policy.h>
#include <efp-plugin-util.h>
int main (void) { return EFP_DECODER_ABI_MAJOR >= 1 && EFP_POLICY_ABI_MAJOR >= 1 ? 0 : 1; }
EOF
# the .pc file relocated into the install tree (its paths derive from ${prefix})
mkdir -p "$dest/pc"
sed "s|^prefix=.*|prefix=$D$prefix|" "$D$libdir/pkgconfig/ecoflow-power-plugin.pc" \
	> "$dest/pc/ecoflow-power-plugin.pc"
if flags=$(PKG_CONFIG_PATH=$dest/pc pkg-config --cflags --libs ecoflow-power-plugin 2>&1) &&
	out=$(cc -o "$dest/third-party" "$src" $flags 2>&1) && "$dest/third-party"; then
	ok "out-of-tree code builds with pkg-config ecoflow-power-plugin"
else
	not_ok "out-of-tree code builds with pkg-config ecoflow-power-plugin"; diag "$flags" "$out"
fi

echo "1..$n"
[ "$failed" -eq 0 ]
