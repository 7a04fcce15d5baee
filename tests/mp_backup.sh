#!/bin/sh
# mp_backup.sh - linli backup of a running station and linli restore.
#
#   sh tests/mp_backup.sh BUILD_DIR
#
# Village va, child of street st, is backed up while its node runs (through
# the control socket), writes more that reaches the street, then loses its
# disk.  The restored station refuses local writes, saying why, until its
# node has received its own log back from the street; then it holds all of
# it and writes again.  A damaged or foreign backup file is refused with
# nothing written.
set -eu
NAME=mp_backup
. "$(dirname "$0")/mp_lib.sh"


mkstation st; PK_S=$PK
mkstation va; PK_A=$PK
street_conf st "child = $PK_A va"
node_listen st 0
village_conf va "$PORT" "$PK_S" st
node_start va || fail "va exited at start: $(tail -n 1 "$T/va.log")"
for i in 1 2 3; do
  q "$T/va" put "hh/va/$i" 户主=甲$i >/dev/null || fail "put at va: $(cat "$T/q.err")"
done
q "$T/va" backup -o "$T/va.bk" >/dev/null || fail "backup of running va: $(cat "$T/q.err")"
[ -s "$T/va.bk" ] || fail "no backup file"
ok "a running station is backed up through its node"

for i in 4 5; do
  q "$T/va" put "hh/va/$i" 户主=甲$i >/dev/null || fail "put at va: $(cat "$T/q.err")"
done
poll 20 has_n "$T/st" hh/va/ 5 || fail "va's 5 records did not reach st"
node_stop va
q "$T/va" backup -o "$T/va-stopped.bk" >/dev/null || fail "backup of stopped va: $(cat "$T/q.err")"
q "$T/vs" restore "$T/va-stopped.bk" >/dev/null || fail "restore of the stopped copy: $(cat "$T/q.err")"
[ "$(nkeys "$T/vs" hh/va/)" -eq 5 ] || fail "the stopped station's backup does not hold 5 records"
rm -rf "$T/va"
ok "a stopped station is backed up too; 5 records at the street, va's disk is lost"

cp "$T/va.bk" "$T/bad.bk"
printf 'X' | dd of="$T/bad.bk" bs=1 seek=100 conv=notrunc 2>/dev/null
if q "$T/va" restore "$T/bad.bk" >/dev/null; then fail "a damaged backup was restored"; fi
grep -q "damaged" "$T/q.err" || fail "no word of damage: $(cat "$T/q.err")"
[ ! -e "$T/va" ] || fail "a refused restore left $T/va behind"
printf 'not a backup' >"$T/junk.bk"
if q "$T/va" restore "$T/junk.bk" >/dev/null; then fail "a foreign file was restored"; fi
grep -q "not a linli backup" "$T/q.err" || fail "foreign file: $(cat "$T/q.err")"
ok "a damaged or foreign backup is refused, nothing written"

q "$T/va" restore "$T/va.bk" >/dev/null || fail "restore: $(cat "$T/q.err")"
[ "$(cat "$T/va/node.key.pub")" = "$PK_A" ] || fail "the restored station has another key"
[ "$(nkeys "$T/va" hh/va/)" -eq 3 ] || fail "the backup does not hold va's 3 records"
q "$T/va" status | grep -q RECOVERING || fail "restored station does not show RECOVERING"
if q "$T/va" put hh/va/6 户主=丙 >/dev/null; then fail "a restored station accepted a write"; fi
grep -q "recover its own log" "$T/q.err" || fail "refusal does not say why: $(cat "$T/q.err")"
ok "restored: 3 records, RECOVERING, a write is refused saying why"

node_start va || fail "restored va exited at start: $(tail -n 1 "$T/va.log")"
poll 30 has_n "$T/va" hh/va/ 5 || fail "restored va holds $(nkeys "$T/va" hh/va/) of 5 after 30 s"
can_write() { q "$T/va" put hh/va/6 户主=丙 >/dev/null; }
poll 20 can_write || fail "va still refuses writes after recovering: $(cat "$T/q.err")"
poll 20 has_n "$T/st" hh/va/ 6 || fail "va's write after recovery did not reach st"
ok "va recovers its 5 records from the street, then writes again"

echo "# a copy of the directory brought back by hand"
node_stop va
mkdir "$T/raw"
(cd "$T/va" && tar cf - --exclude control.sock .) | (cd "$T/raw" && tar xf -)
node_start va || fail "va exited at start: $(tail -n 1 "$T/va.log")"
for i in 7 8; do
  q "$T/va" put "hh/va/$i" 户主=丁$i >/dev/null || fail "put at va: $(cat "$T/q.err")"
done
poll 20 has_n "$T/st" hh/va/ 8 || fail "va's records 7 and 8 did not reach st"
node_stop va
rm -rf "$T/va"
mv "$T/raw" "$T/va"
[ "$(nkeys "$T/va" hh/va/)" -eq 6 ] || fail "the raw copy does not hold 6 records"
node_start va || fail "va exited at start: $(tail -n 1 "$T/va.log")"
copied() { grep -q "brought back from a copy" "$T/va.log"; }
poll 20 copied || fail "the node did not see that the parent holds more of its own log"
poll 30 has_n "$T/va" hh/va/ 8 || fail "the copied va holds $(nkeys "$T/va" hh/va/) of 8 after 30 s"
can_write9() { q "$T/va" put hh/va/9 户主=戊 >/dev/null; }
poll 20 can_write9 || fail "va refuses writes after recovering: $(cat "$T/q.err")"
poll 20 has_n "$T/st" hh/va/ 9 || fail "va's write after recovery did not reach st"
J=$(q "$T/st" --json status) || fail "status at st"
printf '%s\n' "$J" | grep -q '"forks":\[\]' || fail "a fork at st: $J"
ok "the parent's HELLO puts a hand-copied station in recovery; it catches up, no fork"

echo "# a copy brought back by hand and written to before it reconnects: a fork"
node_stop va
mkdir "$T/raw"
(cd "$T/va" && tar cf - --exclude control.sock .) | (cd "$T/raw" && tar xf -)
node_start va || fail "va exited at start: $(tail -n 1 "$T/va.log")"
q "$T/va" put hh/va/10 户主=己 >/dev/null || fail "put at va: $(cat "$T/q.err")"
poll 20 has_n "$T/st" hh/va/ 10 || fail "va's record 10 did not reach st"
node_stop va
rm -rf "$T/va"
mv "$T/raw" "$T/va"
for i in 11 12; do
  q "$T/va" put "hh/va/$i" 户主=庚$i >/dev/null || fail "put at the copy: $(cat "$T/q.err")"
done
: >"$T/st.log.mark"
wc -l <"$T/st.log" >"$T/st.log.mark"
node_start va || fail "va exited at start: $(tail -n 1 "$T/va.log")"
forks() { J=$(q "$1" --json status) && ! printf '%s\n' "$J" | grep -q '"forks":\[\]'; }
poll 20 forks "$T/st" || fail "the street shows no fork: $J"
poll 20 forks "$T/va" || fail "the village shows no fork: $J"
q "$T/va" status | grep -q "^FORK: author $(printf %s "$PK_A" | cut -c1-12)" ||
  fail "va's status does not name its own key: $(q "$T/va" status)"
sleep 3
if tail -n +"$(($(cat "$T/st.log.mark") + 1))" "$T/st.log" | grep -q "refusing it for"; then
  fail "the street bans va instead of keeping fork evidence: $(grep "refusing it" "$T/st.log" | tail -n 1)"
fi
grep -q "ERROR.*two signed histories" "$T/st.log" || fail "the street's log has no error naming the fork"
ok "the fork is shown on both sides with evidence, not refused in a loop"

node_stop va
node_stop st
ok "all stopped cleanly"
echo "$NAME: $PASS passed, $FAIL failed"
