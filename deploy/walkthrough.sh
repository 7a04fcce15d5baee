#!/bin/sh
# walkthrough.sh - a walkthrough of the linli command line on the records
# of a village in 太仓市 and the town station above it, with no daemon and
# no network: the USB-stick path.
#
#   sh deploy/walkthrough.sh build/linli     (make walkthrough)
#
# 雅鹿村 keeps its households, family integrity points (家庭诚信积分), a
# resident's request (诉求) and the secretary's visit diary (民情日记); the
# 双凤镇 station assesses points too and publishes a notice.  Neither has a
# network: a summary and two bundles on a USB stick bring both to the same
# state, which the two digests prove.  Everything happens in a temporary
# directory that is removed at the end, also on Ctrl-C.
set -eu

if [ $# -ne 1 ]; then
  echo "usage: sh deploy/walkthrough.sh path/to/linli" >&2
  exit 2
fi
case $1 in
  /*) LINLI=$1 ;;
  *) LINLI=$(pwd)/$1 ;;
esac
if [ ! -x "$LINLI" ]; then
  echo "walkthrough: $LINLI is not an executable (build it first: make build)" >&2
  exit 1
fi

WORK=$(mktemp -d "${TMPDIR:-/tmp}/linli-walkthrough.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
cd "$WORK"

step() {
  printf '\n== %s\n' "$*"
}

# Shows a command as a person would type it, then runs it.
linli() {
  printf '$ linli'
  for a in "$@"; do
    case $a in
      *[[:space:]]*) printf " '%s'" "$a" ;;
      *) printf ' %s' "$a" ;;
    esac
  done
  printf '\n'
  "$LINLI" "$@"
}

V="-d yalu"      # the village: 太仓市双凤镇雅鹿村
S="-d shuangfeng" # the town station: 太仓市双凤镇社工站

step "A key pair for the village secretary's computer, then two stations"
linli keygen -o yalu.key
linli $V init --no-trust --name 太仓市双凤镇雅鹿村 --key yalu.key
linli $S init --no-trust --name 太仓市双凤镇社工站

step "Households of 雅鹿村: one signed delta per command"
linli $V put hh/yalu/0012 户主=张建国 地址=雅鹿村三组12号 电话=13912345012 人口=4
linli $V put hh/yalu/0031 户主=陈美华 地址=雅鹿村五组31号 电话=13912345031 类别=独居老人
linli $V put hh/yalu/0045 户主=王志强 地址=雅鹿村一组45号 电话=13912345045

step "Household members are a set: add them, and remove one who moved out"
linli $V add hh/yalu/0012 成员 张建国
linli $V add hh/yalu/0012 成员 李秀英
linli $V add hh/yalu/0012 成员 张小明
linli $V add hh/yalu/0012 成员 王桂兰
linli $V rm hh/yalu/0012 成员 张小明

step "Family integrity points (家庭诚信积分): the village assessor adds and deducts"
linli $V incr hh/yalu/0012 诚信积分 5
linli $V incr hh/yalu/0012 诚信积分 3
linli $V incr hh/yalu/0031 诚信积分 -2

step "A resident's request (诉求): 受理 -> 办理中 -> 已办结"
linli $V put req/yalu/2026-0007 事项=小区公共晾衣架 提出户=hh/yalu/0031 负责人=村委会周敏 状态=受理
linli $V append req/yalu/2026-0007 进展 "议事会讨论通过，选址三组东侧空地"
linli $V put req/yalu/2026-0007 状态=办理中
linli $V append req/yalu/2026-0007 进展 "晾衣架安装完毕，居民试用"
linli $V put req/yalu/2026-0007 状态=已办结

step "The secretary's visit diary (民情日记): entries are appended, never edited"
linli $V append diary/yalu/zhoumin 民情日记 "走访0031户陈美华，独居，血压偏高，已联系家庭医生"
linli $V append diary/yalu/zhoumin 民情日记 "走访0012户，小孙子张小明已迁至昆山市陆家镇"

step "0045 merged into another household: delete its record"
linli $V del hh/yalu/0045

step "Read back: a record, the keys, a signed history"
linli $V get hh/yalu/0012
linli $V ls hh/yalu/
linli $V log req/yalu/2026-0007

step "The digest and the state of the village store"
linli $V digest
linli $V status

step "Meanwhile the town station: a second assessor and a notice for every village"
linli $S incr hh/yalu/0012 诚信积分 2
linli $S put notice/shuangfeng/2026-01 标题=民主决策日 日期=2026-01-10 内容="各村议事项目于1月10日表决"

step "Sneakernet, town <- village: the town's summary goes to the village on a stick"
linli $S summary -o stick-town.summary
linli $V export --for stick-town.summary -o stick-yalu.bundle
linli $S import stick-yalu.bundle

step "... and back, village <- town"
linli $V summary -o stick-yalu.summary
linli $S export --for stick-yalu.summary -o stick-town.bundle
linli $V import stick-town.bundle

step "Both assessors' points are counted at both stations"
linli $S get hh/yalu/0012
linli $V get notice/shuangfeng/2026-01

step "Both stations now hold the same data: their digests agree"
dv=$("$LINLI" $V digest)
ds=$("$LINLI" $S digest)
printf '  %-12s %s\n' 雅鹿村 "$dv" 双凤镇 "$ds"
if [ "$dv" != "$ds" ]; then
  echo "walkthrough: the digests differ after the exchange" >&2
  exit 1
fi
linli $S verify
echo
echo "walkthrough: done, the two stations agree"
