#!/bin/sh
# demo.sh - the live system: one district, two streets and four villages,
# seven linli-node processes on loopback.
#
#   sh deploy/demo.sh BUILD_DIR          (what `make demo` runs)
#
# The villages record households with family integrity points, residents'
# requests moving through their statuses, a decision-day vote, volunteer
# hours and a visit diary; the district publishes a notice and a street its
# duty list.  Then one street goes down; its villages keep working offline;
# it comes back and everything converges.  The table at the end shows each
# village's digest as seen at the village, its street and the district.
# Each station serves its web interface on loopback (http_listen); the URLs
# of a village's and the district's, with a demo login, are printed at the
# end.  Every node is stopped at the end, also on Ctrl-C or on a failure,
# and the temporary directory is removed; with DEMO_KEEP=1 the nodes keep
# running until Ctrl-C.
set -eu

if [ $# -ne 1 ]; then
  echo "usage: sh deploy/demo.sh BUILD_DIR" >&2
  exit 2
fi
B=$1
case $B in /*) ;; *) B=$(pwd)/$B ;; esac
LINLI=$B/linli
NODE=$B/linli-node
SCHEMA=$(cd "$(dirname "$0")" && pwd)/schemas/community.json
for x in "$LINLI" "$NODE"; do
  [ -x "$x" ] || { echo "demo: $x is not an executable (build first: make build)" >&2; exit 1; }
done
T=$(mktemp -d "${TMPDIR:-/tmp}/linli-live.XXXXXX")

stop_all() {
  for f in "$T"/*.pid; do
    [ -f "$f" ] || continue
    kill -TERM "$(cat "$f")" 2>/dev/null || true
  done
  n=0
  for f in "$T"/*.pid; do
    [ -f "$f" ] || continue
    p=$(cat "$f")
    while kill -0 "$p" 2>/dev/null && [ $n -lt 50 ]; do
      sleep 0.1
      n=$((n + 1))
    done
    kill -KILL "$p" 2>/dev/null || true
    rm -f "$f"
  done
}
trap 'stop_all; rm -rf "$T"' EXIT
trap 'echo; echo "demo: interrupted; stopping every node"; exit 130' INT
trap 'exit 143' TERM

say() { printf '\n== %s\n' "$*"; }
l() { d=$1; shift; "$LINLI" -d "$T/$d" "$@"; }
q() { d=$1; shift; "$LINLI" -d "$T/$d" "$@" >/dev/null; }

# station NAME DISPLAY: a data directory with its own key, under the
# district's key as trust root (the district itself: --root self).
station() {
  "$LINLI" -d "$T/$1" init --name "$2" --root "${ROOT:-self}" >/dev/null
  eval "PK_$1=\$(cat \"\$T/$1/node.key.pub\")"
  eval "NAME_$1=\$2"
}
# certify ISSUER SUBJECT ROLE PREFIX: ISSUER signs SUBJECT's certificate,
# which SUBJECT installs as the first op of its log.
certify() {
  q "$1" cert issue --subject "$(pk "$2")" --name "$(nm "$2")" --role "$3" --prefix "$4" \
    -o "$T/$2.chain"
  q "$2" cert install "$T/$2.chain"
}
pk() { eval "echo \$PK_$1"; }
nm() { eval "echo \$NAME_$1"; }

BASE=$((17000 + $$ % 20000))
say "Setting up 7 stations in $T"
station gusu 姑苏区
ROOT=$(cat "$T/gusu/node.key.pub")
station jinchang 金阊街道
station pingjiang 平江街道
station shilu 石路社区
station caixiang 彩香社区
station niujia 钮家巷社区
station guanqian 观前社区
certify gusu jinchang street gusu/jinchang/
certify gusu pingjiang street gusu/pingjiang/
for v in shilu caixiang; do certify jinchang $v village gusu/jinchang/$v/; done
for v in niujia guanqian; do certify pingjiang $v village gusu/pingjiang/$v/; done
echo "姑苏区's key is the trust root: it certified both streets, each street its"
echo "two villages, each certificate narrowing the record keys its holder may write"
P_gusu=$BASE
P_jinchang=$((BASE + 1))
P_pingjiang=$((BASE + 2))
# the web interfaces: one port per station from BASE + 10
HB=$((BASE + 10))
H_gusu=$HB
H_jinchang=$((HB + 1))
H_pingjiang=$((HB + 2))
H_shilu=$((HB + 3))
H_caixiang=$((HB + 4))
H_niujia=$((HB + 5))
H_guanqian=$((HB + 6))
hp() { eval "echo \$H_$1"; }
DEMO_PASSWORD=linli-demo-2026

say "People: a clerk and an admin at 石路社区, a clerk at 姑苏区"
# person STATION NAME ROLE [PREFIX]: an account with its own key, certified
# by the station for its namespace (the district, the root, names one)
person() {
  printf '%s\n' "$DEMO_PASSWORD" | "$LINLI" -d "$T/$1" user add "$2" --role "$3" \
    ${4:+--prefix "$4"} --password-file - >/dev/null
  echo "$(nm "$1"): $2 ($3)"
}
person shilu 王芳 clerk
person shilu 赵敏 admin
person gusu 刘洁 clerk /gusu/

cat >"$T/gusu.conf" <<CONF
name = $(nm gusu)
role = district
data = $T/gusu
listen = tcp://127.0.0.1:$P_gusu
child = $(pk jinchang) $(nm jinchang)
child = $(pk pingjiang) $(nm pingjiang)
log_level = info
http_listen = 127.0.0.1:$(hp gusu)
CONF
# street STREET VILLAGE1 VILLAGE2
street() {
  port=$(eval "echo \$P_$1")
  cat >"$T/$1.conf" <<CONF
name = $(nm "$1")
role = street
data = $T/$1
listen = tcp://127.0.0.1:$port
parent = tcp://127.0.0.1:$P_gusu $(pk gusu) $(nm gusu)
child = $(pk "$2") $(nm "$2")
child = $(pk "$3") $(nm "$3")
http_listen = 127.0.0.1:$(hp "$1")
CONF
  for v in "$2" "$3"; do
    cat >"$T/$v.conf" <<CONF
name = $(nm "$v")
role = village
data = $T/$v
parent = tcp://127.0.0.1:$port $(pk "$1") $(nm "$1")
http_listen = 127.0.0.1:$(hp "$v")
CONF
  done
}
street jinchang shilu caixiang
street pingjiang niujia guanqian

start() {
  "$NODE" -c "$T/$1.conf" 2>>"$T/$1.log" &
  echo $! >"$T/$1.pid"
}
ALL="gusu jinchang pingjiang shilu caixiang niujia guanqian"
VILLAGES="shilu caixiang niujia guanqian"
street_of() {
  case $1 in shilu | caixiang) echo jinchang ;; *) echo pingjiang ;; esac
}
ns() { echo "gusu/$(street_of "$1")/$1/"; }

# wait_for SECONDS CONDITION...: polls until the condition holds.
wait_for() {
  limit=$(($1 * 10))
  shift
  i=0
  while ! "$@" 2>/dev/null; do
    i=$((i + 1))
    if [ $i -ge $limit ]; then
      return 1
    fi
    sleep 0.1
  done
}
all_up() {
  for n in $ALL; do
    [ -S "$T/$n/control.sock" ] || return 1
  done
  for n in jinchang pingjiang $VILLAGES; do
    l "$n" status --json | grep -q '"role":"parent","connected":true' || return 1
  done
}

say "Starting 7 linli-node processes (1 district, 2 streets, 4 villages)"
for n in $ALL; do start "$n"; done
wait_for 20 all_up || { echo "demo: the nodes did not connect; logs in $T" >&2; tail -n 3 "$T"/*.log >&2; exit 1; }
echo "every child is connected to its parent (CURVE, keys checked by the parent)"

# household VILLAGE ID HEAD PHONE ADDRESS
household() {
  k=$(ns "$1")hh/$2
  q "$1" put "$k" 户主="$3" 电话="$4" 地址="$5"
  q "$1" add "$k" 成员 "$3"
  q "$1" incr "$k" 诚信积分 10
}

say "The district publishes the community schema; it reaches every station by sync"
q gusu schema publish "$SCHEMA"
has_schema() {
  for n in $ALL; do
    l "$n" schema show >/dev/null 2>&1 || return 1
  done
}
wait_for 20 has_schema || { echo "demo: the schema did not reach every station" >&2; exit 1; }
l shilu schema show | sed -n '1,6p'
echo "...  (10 record types; linli schema show lists them all)"

say "Villages record their work"
household shilu 0012 张建国 13912345012 石路社区3幢12号
household shilu 0013 李秀英 13912345013 石路社区3幢13号
q shilu add "$(ns shilu)hh/0012" 成员 王桂兰
q shilu incr "$(ns shilu)hh/0012" 诚信积分 5
q shilu incr "$(ns shilu)hh/0013" 诚信积分 -2
household caixiang 0101 陈明 13800000101 彩香一村5幢101室
household niujia 0007 周慧 13700000007 钮家巷7号
household guanqian 0230 吴强 13600000230 观前街230号
# keys are relative to the station's own namespace: req/2026-001 at 石路社区
# is gusu/jinchang/shilu/req/2026-001
q shilu put req/2026-001 事项="小区晾衣架" 提出人=张建国 日期=2026-11-03 状态=受理
q caixiang put req/2026-004 事项="楼道灯不亮" 提出人=陈明 日期=2026-11-05 状态=received
q niujia put vote/2026-11-10 议题="微实事：加装电梯" 日期=2026-11-10
q niujia add vote/2026-11-10 赞成 周慧
q niujia add vote/2026-11-10 赞成 吴小燕
q niujia add vote/2026-11-10 反对 钱伟
q guanqian put vol/2026-11-001 志愿者=吴强 日期=2026-11-08 时长分钟=180 内容=助老送餐
q guanqian put vol/2026-11-002 志愿者=吴强 日期=2026-11-15 时长分钟=120 内容=垃圾分类宣传
q shilu put diary/2026-11-0012 户=hh/0012 日期=2026-11-12
q shilu append diary/2026-11-0012 记录 "走访张建国家，反映楼下晾衣不便"
q gusu put gusu/notice/2026-11 标题="民主决策日" 日期=2026-11-01 正文="各村（社区）议事项目于11月10日表决"
q jinchang put gusu/jinchang/policy/duty 值班="周一至周五 8:30-17:00" 负责人=刘洁
echo "households, integrity points, requests, a decision-day vote, volunteer hours,"
echo "a visit diary; a district notice and a street duty list"

# converged: every village's namespace is equal at the village, its street
# and the district; the notice is equal everywhere.
converged() {
  for v in $VILLAGES; do
    s=$(street_of "$v")
    a=$(l "$v" digest "$(ns "$v")")
    [ "$a" = "$(l "$s" digest "$(ns "$v")")" ] || return 1
    [ "$a" = "$(l gusu digest "$(ns "$v")")" ] || return 1
  done
  n=$(l gusu digest /gusu/notice/)
  for x in $ALL; do
    [ "$n" = "$(l "$x" digest /gusu/notice/)" ] || return 1
  done
}
# show_digests: what each node holds, for a failure message.
show_digests() {
  for v in $VILLAGES; do
    s=$(street_of "$v")
    echo "$v: $(l "$v" digest "$(ns "$v")") $(l "$s" digest "$(ns "$v")") $(l gusu digest "$(ns "$v")")"
  done
  for x in $ALL; do
    echo "notices at $x: $(l "$x" digest /gusu/notice/)"
  done
}
wait_for 20 converged || { echo "demo: no convergence; logs in $T" >&2; show_digests >&2; exit 1; }
echo "all seven nodes agree"

say "金阊街道 goes down; its villages keep working offline"
kill -TERM "$(cat "$T/jinchang.pid")"
while kill -0 "$(cat "$T/jinchang.pid")" 2>/dev/null; do sleep 0.1; done
rm -f "$T/jinchang.pid"
q shilu put req/2026-001 状态=办理中
q shilu append diary/2026-11-0012 记录 "议事会讨论晾衣架位置，居民同意放在3幢南侧"
q shilu put req/2026-001 状态=已办结
q shilu incr "$(ns shilu)hh/0012" 诚信积分 3
q caixiang put "$(ns caixiang)req/2026-004" 状态=已办结
q caixiang rm "$(ns caixiang)hh/0101" 成员 陈明
q caixiang add "$(ns caixiang)hh/0101" 成员 陈明（户主）
q gusu put gusu/notice/2026-12 标题="负面清单" 日期=2026-11-28 正文="村（社区）不得出具的12类证明，详见附件"
echo "石路社区 and 彩香社区 wrote 7 changes while their street was away:"
l shilu status | grep -E '^  parent'

say "金阊街道 comes back"
start jinchang
wait_for 30 converged || { echo "demo: no convergence after the outage; logs in $T" >&2; show_digests >&2; exit 1; }
echo "converged again"

say "Per-village digests at the village, its street and the district"
printf '%-12s %-18s %-18s %-18s %s\n' village "at village" "at street" "at district" ""
bad=0
for v in $VILLAGES; do
  s=$(street_of "$v")
  a=$(l "$v" digest "$(ns "$v")")
  b=$(l "$s" digest "$(ns "$v")")
  c=$(l gusu digest "$(ns "$v")")
  mark=equal
  { [ "$a" = "$b" ] && [ "$a" = "$c" ]; } || { mark=DIFFERENT; bad=1; }
  printf '%-12s %-18s %-18s %-18s %s\n' "$v" "$(echo "$a" | cut -c1-16)" \
    "$(echo "$b" | cut -c1-16)" "$(echo "$c" | cut -c1-16)" "$mark"
done
[ $bad -eq 0 ] || { echo "demo: digests differ" >&2; exit 1; }

say "Scope: 石路社区 holds the district notices but none of 彩香社区's residents"
l shilu ls /gusu/notice/
echo "records of 彩香社区 at 石路社区: $(l shilu ls "/$(ns caixiang)" | wc -l)"
echo "records of 彩香社区 at 金阊街道:  $(l jinchang ls "/$(ns caixiang)" | wc -l)"
[ "$(l shilu ls "/$(ns caixiang)" | wc -l)" -eq 0 ] || { echo "demo: a village holds a sibling's records" >&2; exit 1; }

say "The signed history of one request, read at the district"
l gusu get "$(ns shilu)req/2026-001"
l gusu log "$(ns shilu)req/2026-001"

say "Trust: a village cannot write into its neighbour's records"
if l shilu put "/$(ns caixiang)hh/0101" 户主=冒名 地址=彩香一村 2>"$T/refused.err"; then
  echo "demo: a write outside the village's namespace was accepted" >&2
  exit 1
fi
cat "$T/refused.err"

say "The district's report for November (aggregates kept as the ops arrived)"
l gusu report / --month 2026-11
echo "households of 金阊街道, all time:"
l gusu report /gusu/jinchang/ --type 户 | sed 's/^/  /'
[ "$(l jinchang --json report /gusu/jinchang/)" = "$(l gusu --json report /gusu/jinchang/)" ] ||
  { echo "demo: the street's and the district's reports differ" >&2; exit 1; }
echo "(the same report at 金阊街道, which holds the same ops)"

say "The district's requests of November, from every village (linli query)"
l gusu query 诉求 / --where 日期\>=2026-11-01 --where 日期\<2026-12-01 --fields 事项,状态

say "石路社区's households as CSV for Excel, read at 金阊街道 (first lines)"
l jinchang query 户 shilu/ --csv --fields 户主,电话,地址,诚信积分 >"$T/shilu.csv"
head -n 3 "$T/shilu.csv"
echo "(UTF-8 with a byte order mark, so Excel shows the Chinese; linli import-csv reads it back)"

say "A clerk's typo is refused with what to write instead"
for typo in "put hh/0012 电活=13912345012" "put hh/0012 电话=1391234" "incr hh/0013 诚信积分 -100"; do
  # shellcheck disable=SC2086
  if l shilu $typo 2>"$T/typo.err"; then
    echo "demo: a typo was accepted: $typo" >&2
    exit 1
  fi
  echo "linli $typo"
  echo "  -> $(cat "$T/typo.err")"
done

say "Audit: the district's records, verified with nothing but the root key"
q gusu export -o "$T/district.bundle"
"$LINLI" audit "$T/district.bundle" --root "$ROOT" || { echo "demo: the audit failed" >&2; exit 1; }

say "Each node's peers"
for n in $ALL; do
  echo "$(nm "$n"):"
  l "$n" status | sed -n 's/^  \(parent\|child\)/    \1/p'
done

say "The web interface"
# login STATION NAME: the station's API takes the demo login (python3's
# standard library as the browser)
login() {
  python3 - "$(hp "$1")" "$2" "$DEMO_PASSWORD" <<'PY'
import http.client, json, sys
c = http.client.HTTPConnection("127.0.0.1", int(sys.argv[1]), timeout=10)
c.request("POST", "/api/v1/login", json.dumps({"user": sys.argv[2], "password": sys.argv[3]}),
          {"Content-Type": "application/json"})
r = c.getresponse()
a = json.loads(r.read())
sys.exit(0 if r.status == 200 and a["user"] == sys.argv[2] else 1)
PY
}
login shilu 王芳 || { echo "demo: 石路社区's web interface refused the demo login" >&2; exit 1; }
login gusu 刘洁 || { echo "demo: 姑苏区's web interface refused the demo login" >&2; exit 1; }
echo "$(nm shilu) (village):  http://127.0.0.1:$(hp shilu)/   login 王芳 (clerk) or 赵敏 (admin)"
echo "$(nm gusu) (district):    http://127.0.0.1:$(hp gusu)/   login 刘洁 (clerk)"
echo "password for all three: $DEMO_PASSWORD"
echo "(every station serves one: 金阊街道 on $(hp jinchang), 彩香社区 on $(hp caixiang), ...)"

if [ "${DEMO_KEEP:-}" = 1 ]; then
  say "DEMO_KEEP=1: the 7 nodes keep running; Ctrl-C stops them"
  trap 'echo; echo "demo: stopping every node"; exit 0' INT
  while :; do sleep 1; done
fi

say "Stopping the 7 nodes"
stop_all
echo "demo: done"
