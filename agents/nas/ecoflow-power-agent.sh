#!/bin/sh
# ecoflow-power-agent.sh: the ecoflow-power host agent in POSIX sh, for NAS
# shells (Synology DSM, QNAP QTS, TrueNAS) and macOS. Needs mosquitto_sub,
# mosquitto_pub, openssl, od, awk, sed.
#
#   ecoflow-power-agent.sh [-c CONFIG] [-n] [-v]
#   ecoflow-power-agent.sh --sign KEY-FILE AGENT ID ACTION ISSUED_AT DELAY_SEC TTL_SEC
#
# CONFIG uses the C agent's key-file format (CONTRACT 4.7):
#   [agent]    id=  key-file=  state-file=
#   [mqtt]     host=  port=1883  username=  password-file=  tls=false  ca-file=
#              command-prefix=power-manager
#   [shutdown] method=wait|command  command=  abort-command=  hooks-dir=
#              hook-timeout-sec=60
# method=wait (the default here): after the hooks the agent itself waits
# delay_sec, then runs `command` (default: poweroff); an abort stops the wait.
# method=command: `command` runs right after the hooks and handles the delay.
#
# Exit status: 0 stopped by SIGTERM/SIGINT, 64 bad command line, 78 bad
# configuration (one line naming the file, [group] key, expected and found).

LC_ALL=C
export LC_ALL
umask 077

AGENT_VERSION="0.1.0-sh"
SKEW=30
PROG="ecoflow-power-agent"

# ---------------------------------------------------------------- logging

VERBOSE=0
log() { printf '%s: %s\n' "$PROG" "$*" >&2; }
info() { [ "$VERBOSE" -gt 0 ] && log "$*"; return 0; }
die_usage() { log "$*"; exit 64; }
die_config() { log "$CONFIG: $*"; exit 78; }

# ---------------------------------------------------------------- HMAC-SHA256
# The key never appears on a command line: openssl only hashes (ipad|msg) and
# (opad|inner), built here byte by byte (RFC 2104).

tohex() { od -An -v -tx1 | tr -d ' \n'; }

# write the bytes of a hex string to stdout (printf octal escapes; NUL is fine)
hexbytes() {
  _fmt=""
  for _b in $(printf '%s' "$1" | sed 's/../& /g'); do
    _fmt="$_fmt$(printf '\\%03o' "$((0x$_b))")"
  done
  # shellcheck disable=SC2059 # the format is the data: octal escapes built above
  printf "$_fmt"
}

# xor every byte of hex $1 with $2 (0x36 or 0x5c)
hexxor() {
  for _b in $(printf '%s' "$1" | sed 's/../& /g'); do
    printf '%02x' "$((0x$_b ^ $2))"
  done
}

# hmac_sha256 KEYHEX MESSAGE -> lowercase hex
hmac_sha256() {
  _k=$1
  if [ "${#_k}" -gt 128 ]; then
    _k=$(hexbytes "$_k" | openssl dgst -sha256 -binary | tohex)
  fi
  while [ "${#_k}" -lt 128 ]; do _k="${_k}00"; done
  _inner=$( { hexbytes "$(hexxor "$_k" 54)"; printf '%s' "$2"; } \
    | openssl dgst -sha256 -binary | tohex)
  { hexbytes "$(hexxor "$_k" 92)"; hexbytes "$_inner"; } \
    | openssl dgst -sha256 -binary | tohex
}

# the key file's bytes minus one trailing LF or CRLF, as hex
read_key_hex() {
  _h=$(tohex < "$1") || return 1
  case "$_h" in
    *0d0a) _h=${_h%0d0a} ;;
    *0a) _h=${_h%0a} ;;
  esac
  printf '%s' "$_h"
}

# CONTRACT 4.3: "v1\n<agent>\n<id>\n<action>\n<issued_at>\n<delay_sec>\n<ttl_sec>"
signing_text() {
  printf 'v1\n%s\n%s\n%s\n%s\n%s\n%s' "$1" "$2" "$3" "$4" "$5" "$6"
}

if [ "${1:-}" = "--sign" ]; then
  [ "$#" -eq 8 ] || die_usage "usage: $0 --sign KEY-FILE AGENT ID ACTION ISSUED_AT DELAY_SEC TTL_SEC"
  KEYHEX=$(read_key_hex "$2") || die_usage "$2: cannot read the key file"
  hmac_sha256 "$KEYHEX" "$(signing_text "$3" "$4" "$5" "$6" "$7" "$8")"
  echo
  exit 0
fi

# ---------------------------------------------------------------- options

CONFIG=""
DRY_RUN=0
while [ "$#" -gt 0 ]; do
  case "$1" in
    -c | --config)
      [ "$#" -ge 2 ] || die_usage "option $1 needs a FILE"
      CONFIG=$2; shift 2 ;;
    --config=*) CONFIG=${1#--config=}; shift ;;
    -n | --dry-run) DRY_RUN=1; shift ;;
    -v) VERBOSE=$((VERBOSE + 1)); shift ;;
    -vv) VERBOSE=$((VERBOSE + 2)); shift ;;
    --version) echo "$PROG $AGENT_VERSION"; exit 0 ;;
    -h | --help)
      echo "usage: $0 [-c CONFIG] [-n|--dry-run] [-v]"
      echo "       $0 --sign KEY-FILE AGENT ID ACTION ISSUED_AT DELAY_SEC TTL_SEC"
      exit 0 ;;
    *) die_usage "unknown argument '$1' (try --help)" ;;
  esac
done
[ -n "$CONFIG" ] || CONFIG="$(dirname "$0")/agent.conf"

# ---------------------------------------------------------------- configuration

[ -r "$CONFIG" ] || { log "$CONFIG: expected a readable configuration file, found none"; exit 78; }

# every group and key must be known (CONTRACT 3.2 style)
BAD=$(awk -v q="'" '
  /^[ \t]*([#;]|$)/ { next }
  /^[ \t]*\[/ { g = $0; gsub(/^[ \t]*\[|\][ \t]*$/, "", g)
    if (g != "agent" && g != "mqtt" && g != "shutdown") { print "[" g "]: expected one of the groups [agent], [mqtt], [shutdown], found unknown group"; exit }
    next }
  { i = index($0, "=")
    if (i == 0) { print "expected key=value lines, found " q $0 q; exit }
    k = substr($0, 1, i - 1); gsub(/^[ \t]+|[ \t]+$/, "", k)
    ok = (g == "agent" && k ~ /^(id|key-file|state-file)$/) ||
         (g == "mqtt" && k ~ /^(host|port|username|password-file|tls|ca-file|command-prefix)$/) ||
         (g == "shutdown" && k ~ /^(method|command|abort-command|hooks-dir|hook-timeout-sec)$/)
    if (g == "") { print "expected a [group] before " q k q ", found none"; exit }
    if (!ok) { print "[" g "] " k ": expected a known key, found unknown key"; exit } }
' "$CONFIG")
[ -z "$BAD" ] || die_config "$BAD"

# ini GROUP KEY DEFAULT: the last value of KEY in [GROUP], trimmed
ini() {
  _v=$(awk -v G="$1" -v K="$2" '
    /^[ \t]*([#;]|$)/ { next }
    /^[ \t]*\[/ { g = $0; gsub(/^[ \t]*\[|\][ \t]*$/, "", g); next }
    g == G { i = index($0, "="); k = substr($0, 1, i - 1); gsub(/^[ \t]+|[ \t]+$/, "", k)
      if (k == K) { v = substr($0, i + 1); gsub(/^[ \t]+|[ \t]+$/, "", v); val = v; f = 1 } }
    END { if (f) print val }' "$CONFIG")
  [ -n "$_v" ] || _v=$3
  printf '%s' "$_v"
}

is_uint() { case "$1" in '' | *[!0-9]*) return 1 ;; esac; [ "${#1}" -le 12 ]; }

AGENT_ID=$(ini agent id "")
KEY_FILE=$(ini agent key-file "")
STATE_FILE=$(ini agent state-file "/var/lib/ecoflow-power-agent/seen.txt")
MQTT_HOST=$(ini mqtt host localhost)
MQTT_PORT=$(ini mqtt port 1883)
MQTT_USER=$(ini mqtt username "")
MQTT_PASSWORD_FILE=$(ini mqtt password-file "")
MQTT_TLS=$(ini mqtt tls false)
MQTT_CA_FILE=$(ini mqtt ca-file "")
PREFIX=$(ini mqtt command-prefix power-manager)
METHOD=$(ini shutdown method wait)
SHUTDOWN_COMMAND=$(ini shutdown command poweroff)
ABORT_COMMAND=$(ini shutdown abort-command "")
HOOKS_DIR=$(ini shutdown hooks-dir /etc/ecoflow-power/agent.d)
HOOK_TIMEOUT=$(ini shutdown hook-timeout-sec 60)

[ -n "$AGENT_ID" ] || die_config "[agent] id: expected an agent id, found nothing"
case "$AGENT_ID" in
  *[!A-Za-z0-9._-]*) die_config "[agent] id: expected letters, digits, '.', '_' or '-', found '$AGENT_ID'" ;;
esac
if is_uint "$MQTT_PORT" && [ "$MQTT_PORT" -ge 1 ] && [ "$MQTT_PORT" -le 65535 ]; then :; else
  die_config "[mqtt] port: expected an integer 1-65535, found '$MQTT_PORT'"
fi
case "$MQTT_TLS" in
  true | yes | 1 | on) MQTT_TLS=1 ;;
  false | no | 0 | off) MQTT_TLS=0 ;;
  *) die_config "[mqtt] tls: expected true or false, found '$MQTT_TLS'" ;;
esac
case "$MQTT_HOST$MQTT_CA_FILE" in
  *[\ \	]*) die_config "[mqtt] host and ca-file: expected no spaces, found '$MQTT_HOST' '$MQTT_CA_FILE'" ;;
esac
case "$PREFIX" in
  '' | /* | */ | *[+#\ ]*) die_config "[mqtt] command-prefix: expected topic levels without '+', '#' or spaces, found '$PREFIX'" ;;
esac
case "$METHOD" in
  wait | command) ;;
  *) die_config "[shutdown] method: expected wait or command, found '$METHOD'" ;;
esac
if is_uint "$HOOK_TIMEOUT" && [ "$HOOK_TIMEOUT" -ge 1 ] && [ "$HOOK_TIMEOUT" -le 604800 ]; then :; else
  die_config "[shutdown] hook-timeout-sec: expected an integer 1-604800, found '$HOOK_TIMEOUT'"
fi
KEYHEX=""
if [ -n "$KEY_FILE" ]; then
  [ -r "$KEY_FILE" ] || die_config "[agent] key-file: expected a readable secret file, found '$KEY_FILE' unreadable"
  KEYHEX=$(read_key_hex "$KEY_FILE")
  [ -n "$KEYHEX" ] || die_config "[agent] key-file: expected a non-empty key in $KEY_FILE, found an empty file"
fi
if [ -n "$MQTT_PASSWORD_FILE" ] && [ ! -r "$MQTT_PASSWORD_FILE" ]; then
  die_config "[mqtt] password-file: expected a readable secret file, found '$MQTT_PASSWORD_FILE' unreadable"
fi
if [ -n "$MQTT_CA_FILE" ] && [ ! -r "$MQTT_CA_FILE" ]; then
  die_config "[mqtt] ca-file: expected a readable CA certificate file, found '$MQTT_CA_FILE' missing"
fi
for _tool in mosquitto_sub mosquitto_pub openssl od awk sed; do
  command -v "$_tool" > /dev/null 2>&1 || die_config "needs '$_tool': expected it in PATH, found nothing"
done
STATE_DIR=$(dirname "$STATE_FILE")
mkdir -p "$STATE_DIR" 2> /dev/null && touch "$STATE_FILE" 2> /dev/null \
  || die_config "[agent] state-file: expected a writable file, found '$STATE_FILE' not writable"
PENDING_PID_FILE="$STATE_FILE.pending"

CMD_TOPIC="$PREFIX/$AGENT_ID/cmd"
ACK_TOPIC="$PREFIX/$AGENT_ID/ack"
STATUS_TOPIC="$PREFIX/$AGENT_ID/status"
HOST_NAME=$( (hostname || uname -n) 2> /dev/null | tr -d '"\\\n')

# A private directory for the mosquitto clients' option files: the password
# goes there (read by mosquitto_sub/pub through XDG_CONFIG_HOME), never on a
# command line.
RUN_DIR=$(mktemp -d "${TMPDIR:-/tmp}/ecoflow-power-agent.XXXXXX") || die_config "cannot create a private temporary directory"
for _c in mosquitto_sub mosquitto_pub; do
  {
    [ -n "$MQTT_USER" ] && printf -- '-u %s\n' "$MQTT_USER"
    [ -n "$MQTT_PASSWORD_FILE" ] && printf -- '-P %s\n' "$(head -n 1 "$MQTT_PASSWORD_FILE" | tr -d '\r')"
    true
  } > "$RUN_DIR/$_c"
done
XDG_CONFIG_HOME=$RUN_DIR
export XDG_CONFIG_HOME

# connection options shared by both clients (validated above: no spaces)
CONN="-h $MQTT_HOST -p $MQTT_PORT"
if [ "$MQTT_TLS" = 1 ]; then
  # mosquitto clients verify the server certificate unless --insecure is given; it never is
  if [ -n "$MQTT_CA_FILE" ]; then CONN="$CONN --cafile $MQTT_CA_FILE"; else CONN="$CONN --capath /etc/ssl/certs"; fi
fi

# ---------------------------------------------------------------- helpers

now() { date +%s; }

publish() { # TOPIC JSON [-r]
  _t=$1; _m=$2; shift 2
  # shellcheck disable=SC2086
  mosquitto_pub $CONN -q 1 "$@" -t "$_t" -m "$_m" < /dev/null 2>&1 | sed "s/^/$PROG: mosquitto_pub: /" >&2
}

# JSON string field (simple values only: no escapes), integer, boolean
json_str() { printf '%s\n' "$PAYLOAD" | sed -n "s/.*\"$1\"[ ]*:[ ]*\"\\([^\"\\\\]*\\)\".*/\\1/p" | head -n 1; }
json_has() { printf '%s\n' "$PAYLOAD" | grep -q "\"$1\"[ ]*:"; }
json_int() { printf '%s\n' "$PAYLOAD" | sed -n "s/.*\"$1\"[ ]*:[ ]*\\(-\\{0,1\\}[0-9][0-9]*\\).*/\\1/p" | head -n 1; }
json_true() { printf '%s\n' "$PAYLOAD" | grep -q "\"$1\"[ ]*:[ ]*true"; }

# make text safe inside a JSON string and a log line
clean() { printf '%s' "$1" | tr -d '"\\' | tr '\000-\037' ' '; }

ack() { # RESULT DETAIL
  _d=$(clean "$2")
  info "ACK ${ID:--} $1: $_d"
  publish "$ACK_TOPIC" "{\"id\":\"$(clean "$ID")\",\"action\":\"$(clean "$ACTION")\",\"result\":\"$1\",\"detail\":\"$_d\"}"
}

reject() {
  log "REJECTED command ${ID:--} (${ACTION:--}): $1"
  ack rejected "$1"
}

status() { # online|offline
  if [ "$1" = online ]; then
    publish "$STATUS_TOPIC" "{\"state\":\"online\",\"version\":\"$AGENT_VERSION\",\"host\":\"$HOST_NAME\",\"ts\":$(now)}" -r
  else
    publish "$STATUS_TOPIC" '{"state":"offline"}' -r
  fi
}

# replay memory: one "id issued_at ttl" line per handled command, pruned once
# the command has expired (the age check refuses it from then on)
seen() { awk -v id="$1" '$1 == id { f = 1 } END { exit !f }' "$STATE_FILE"; }
remember() {
  _n=$(now)
  { awk -v now="$_n" -v s="$SKEW" '$2 + $3 + s >= now' "$STATE_FILE"; echo "$1 $2 $3"; } > "$STATE_FILE.tmp" \
    && mv "$STATE_FILE.tmp" "$STATE_FILE" \
    || log "replay memory not saved: $STATE_FILE"
}

# the hooks, in name order: regular, executable, not group/world-writable
list_hooks() {
  [ -d "$HOOKS_DIR" ] || return 0
  for _h in "$HOOKS_DIR"/*; do
    [ -f "$_h" ] && [ -x "$_h" ] || continue
    case "$(ls -ld "$_h")" in
      ?????w* | ????????w*) log "hook $_h is group- or world-writable, skipped"; continue ;;
    esac
    printf '%s\n' "$_h"
  done
}

# run_hooks PHASE: each hook with a timeout; a failing hook does not stop the rest
run_hooks() {
  list_hooks | while IFS= read -r _h; do
    log "running hook $_h $1"
    "$_h" "$1" < /dev/null &
    _hp=$!
    ( sleep "$HOOK_TIMEOUT"; kill -KILL "$_hp" 2> /dev/null && log "hook $_h timed out after $HOOK_TIMEOUT s and was killed" ) &
    _wp=$!
    wait "$_hp" || log "hook $_h $1 failed (exit status $?)"
    kill "$_wp" 2> /dev/null
  done
}

count_hooks() { list_hooks | wc -l | tr -d ' '; }

# the pending file holds "<pid> <power-off time, epoch seconds>"
cancel_pending() {
  [ -s "$PENDING_PID_FILE" ] || return 1
  read -r _p _ < "$PENDING_PID_FILE"
  rm -f "$PENDING_PID_FILE"
  is_uint "$_p" && kill -TERM "$_p" 2> /dev/null
}

# ---------------------------------------------------------------- actions

do_shutdown() {
  _reason=$(clean "$REASON")
  if [ "$DRY_RUN" = 1 ] || json_true dry_run; then
    log "DRY RUN: command $ID: would run $(count_hooks) hooks and power off in $DELAY s via $METHOD (reason: $_reason)"
    ack scheduled "dry run: would power off in $DELAY s"
    return
  fi
  _now=$(now)
  if [ -s "$PENDING_PID_FILE" ]; then
    read -r _ _at < "$PENDING_PID_FILE"
    # another policy or a re-fire must not postpone the power-off while the battery drains
    if is_uint "$_at" && [ $((_now + DELAY)) -ge "$_at" ]; then
      _left=$((_at - _now)); [ "$_left" -ge 0 ] || _left=0
      log "SHUTDOWN command $ID: power-off already scheduled in $_left s; kept"
      ack scheduled "power-off already scheduled in $_left s; kept"
      return
    fi
  fi
  cancel_pending && log "replacing the pending shutdown with a sooner one"
  log "SHUTDOWN command $ID: power-off in $DELAY s via $METHOD after $(count_hooks) hooks (reason: $_reason)"
  # acked now: hooks may take longer than the sender waits for an ack
  ack scheduled "power-off in $DELAY s via $METHOD after $(count_hooks) hooks"
  (
    # an abort sends TERM: stop the current child and never power off
    trap 'kill -KILL $_child 2> /dev/null; exit 143' TERM
    _child=""
    ECOFLOW_COMMAND_ID=$ID ECOFLOW_DELAY_SEC=$DELAY ECOFLOW_REASON=$_reason ECOFLOW_ACTION=shutdown
    export ECOFLOW_COMMAND_ID ECOFLOW_DELAY_SEC ECOFLOW_REASON ECOFLOW_ACTION
    run_hooks shutdown &
    _child=$!; wait "$_child"
    if [ "$METHOD" = wait ]; then
      sleep "$DELAY" &
      _child=$!; wait "$_child"
    fi
    rm -f "$PENDING_PID_FILE"
    log "POWER-OFF: running: $SHUTDOWN_COMMAND"
    /bin/sh -c "$SHUTDOWN_COMMAND" < /dev/null || log "power-off command failed (exit status $?)"
  ) < /dev/null &
  echo "$! $((_now + DELAY))" > "$PENDING_PID_FILE"
}

do_abort() {
  if [ "$DRY_RUN" = 1 ] || json_true dry_run; then
    log "DRY RUN: command $ID: would cancel the power-off"
    ack aborted "dry run: nothing cancelled"
    return
  fi
  ECOFLOW_COMMAND_ID=$ID ECOFLOW_DELAY_SEC=$DELAY ECOFLOW_REASON=$(clean "$REASON") ECOFLOW_ACTION=abort
  export ECOFLOW_COMMAND_ID ECOFLOW_DELAY_SEC ECOFLOW_REASON ECOFLOW_ACTION
  if cancel_pending; then _detail="cancelled the scheduled power-off"; else _detail="nothing was scheduled"; fi
  if [ -n "$ABORT_COMMAND" ]; then
    /bin/sh -c "$ABORT_COMMAND" < /dev/null || log "abort command failed (exit status $?)"
  fi
  log "ABORT command $ID: $_detail"
  ack aborted "$_detail"
  run_hooks abort < /dev/null &
}

# handle one command payload (in $PAYLOAD)
handle_command() {
  ID=""; ACTION=""
  _n=$(now)
  ID=$(json_str id)
  ACTION=$(json_str action)
  REASON=$(json_str reason)
  ISSUED=$(json_int issued_at); [ -n "$ISSUED" ] || ISSUED=0
  DELAY=$(json_int delay_sec); [ -n "$DELAY" ] || DELAY=0
  TTL=$(json_int ttl_sec); [ -n "$TTL" ] || TTL=0
  SIG=$(json_str sig)
  case "$PAYLOAD" in
    \{*\}) ;;
    *) ID=""; ACTION=""; reject "command: not a JSON object"; return ;;
  esac
  case "$ID" in
    '' | *[!A-Za-z0-9._-]*) ID=""; reject "command: missing or unusable \"id\""; return ;;
  esac
  [ -n "$ACTION" ] || { reject "command: missing \"action\""; return; }
  for _v in "$ISSUED" "$DELAY" "$TTL"; do
    is_uint "$_v" || { reject "command: delay_sec, ttl_sec and issued_at must be non-negative integers"; return; }
  done
  if [ -n "$KEYHEX" ]; then
    [ -n "$SIG" ] || { reject "missing signature"; return; }
    _want=$(hmac_sha256 "$KEYHEX" "$(signing_text "$AGENT_ID" "$ID" "$ACTION" "$ISSUED" "$DELAY" "$TTL")")
    [ "$SIG" = "$_want" ] || { reject "bad signature"; return; }
  fi
  if [ "$_n" -gt $((ISSUED + TTL + SKEW)) ]; then
    reject "expired: issued $((_n - ISSUED)) s ago, ttl $TTL s"; return
  fi
  if [ "$ISSUED" -gt $((_n + SKEW)) ]; then
    reject "issued $((ISSUED - _n)) s in the future"; return
  fi
  case "$ACTION" in
    shutdown | abort | test) ;;
    *) reject "unknown action"; return ;;
  esac
  if seen "$ID"; then reject "replayed command id: already handled"; return; fi
  remember "$ID" "$ISSUED" "$TTL"
  case "$ACTION" in
    test) log "TEST command $ID: ok"; ack tested "test received by $HOST_NAME" ;;
    shutdown) do_shutdown ;;
    abort) do_abort ;;
  esac
}

handle_line() {
  _topic=${1%% *}
  PAYLOAD=${1#* }
  case "$_topic" in
    "$CMD_TOPIC") handle_command ;;
    "$STATUS_TOPIC")
      # our own will, seen after a reconnect: we are alive, say so
      case "$PAYLOAD" in *'"offline"'*) status online ;; esac ;;
  esac
}

# ---------------------------------------------------------------- main loop

SUB_PID=""
LOOP_PID=""
stop() {
  log "stopping"
  # TERM makes mosquitto_sub disconnect cleanly: no will, the session stays
  [ -n "$SUB_PID" ] && kill -TERM "$SUB_PID" 2> /dev/null
  [ -n "$LOOP_PID" ] && wait "$LOOP_PID" 2> /dev/null
  status offline
  rm -f "$SUB_PID_FILE"
  rm -rf "$RUN_DIR"
  exit 0
}
trap stop TERM INT
trap 'rm -rf "$RUN_DIR"' EXIT

if [ -z "$KEYHEX" ]; then
  log "warning: no [agent] key-file in $CONFIG: commands are not authenticated, anyone who can publish to $CMD_TOPIC on the broker can shut this host down"
fi
[ "$DRY_RUN" = 1 ] && log "dry run: commands are verified, logged and acknowledged, never carried out"
log "agent $AGENT_ID listening on $CMD_TOPIC ($MQTT_HOST:$MQTT_PORT, power-off via $METHOD)"

# a previous instance killed with SIGKILL can leave its mosquitto_sub behind,
# which would fight the new one over the client id: end it
SUB_PID_FILE="$STATE_FILE.sub"
if [ -s "$SUB_PID_FILE" ]; then
  _old=$(cat "$SUB_PID_FILE")
  # comm is a bare name on Linux, a full path on macOS
  if is_uint "$_old" && [ "$(basename "$(ps -p "$_old" -o comm= 2> /dev/null)" 2> /dev/null)" = mosquitto_sub ]; then
    log "ending the mosquitto_sub ($_old) of a previous instance"
    kill -TERM "$_old" 2> /dev/null
  fi
fi

mkfifo "$RUN_DIR/lines" || die_config "cannot create a FIFO in $RUN_DIR"
BACKOFF=1
while :; do
  # persistent session (-c, stable client id), QoS 1: commands sent while we
  # are away wait on the broker; the will marks us offline if we die
  # shellcheck disable=SC2086
  mosquitto_sub $CONN -q 1 -c -i "ecoflow-power-agent-$AGENT_ID" \
    --will-topic "$STATUS_TOPIC" --will-payload '{"state":"offline"}' --will-qos 1 --will-retain \
    -t "$CMD_TOPIC" -t "$STATUS_TOPIC" -v > "$RUN_DIR/lines" &
  SUB_PID=$!
  echo "$SUB_PID" > "$SUB_PID_FILE"
  while IFS= read -r _line; do handle_line "$_line"; done < "$RUN_DIR/lines" &
  LOOP_PID=$!
  status online
  _started=$(now)
  wait "$SUB_PID"
  _rc=$?
  wait "$LOOP_PID"
  SUB_PID=""
  LOOP_PID=""
  # mosquitto_sub reconnects by itself; it only exits on a hard error (e.g.
  # refused credentials): retry with backoff, 1 s doubling to 30 s
  [ $(($(now) - _started)) -gt 60 ] && BACKOFF=1
  log "mosquitto_sub exited (status $_rc); retrying in $BACKOFF s"
  sleep "$BACKOFF" &
  wait $!
  BACKOFF=$((BACKOFF * 2))
  [ "$BACKOFF" -le 30 ] || BACKOFF=30
done
