#!/bin/sh
# cli_complete.sh - `linli --complete`, the bash completion built on it,
# and `linli --version`.
#
#   sh tests/cli_complete.sh BUILD_DIR      (the binary is BUILD_DIR/linli)
#
# The completion must offer exactly what the parser accepts: the commands
# `linli --help` lists, and per command the options it takes (each one
# listed is accepted, each one not listed is refused).
set -eu
LC_ALL=C
export LC_ALL

NAME=cli_complete
unset LINLI_DATA
SRC=$(cd "$(dirname "$0")/.." && pwd)
. "$(dirname "$0")/clilib.sh"

# The commands: the same as --help lists.
must --help
sed -n '/^Commands:/,/^$/s/^  \([a-z][a-z-]*\) .*/\1/p' "$T/out" >help.cmds
[ -s help.cmds ] || fail "no commands found in linli --help"
must --complete
grep -v '^-' "$T/out" >complete.cmds
cmp -s help.cmds complete.cmds || fail "--complete lists other commands than --help: $(diff help.cmds complete.cmds | tr '\n' ' ')"
for g in "-d DIR" --json --help --version; do
  grep -qx -- "$g" "$T/out" || fail "--complete does not list the global option $g"
done
ok "--complete lists the $(wc -l <help.cmds) commands of --help and the global options"

# Per command: every listed option parses, every other option is refused.
while read -r cmd; do
  must --complete "$cmd"
  grep '^-' "$T/out" | cut -d' ' -f1
done <help.cmds | sort -u | grep -vx -e -d -e --json -e --help -e --version >all.opts
all_opts=$(cat all.opts)
while read -r cmd; do
  must --complete "$cmd"
  cp "$T/out" opts
  for o in $all_opts; do
    line=$(grep -- "^$o\( \|\$\)" opts || true)
    if [ -n "$line" ]; then
      case $line in *" "*) run "$cmd" "$o" x --help ;; *) run "$cmd" "$o" --help ;; esac
      [ "$RC" -eq 0 ] || fail "--complete $cmd lists $o but 'linli $cmd $o' is refused: $(cat "$T/err")"
    else
      run "$cmd" "$o" x --help
      [ "$RC" -eq 2 ] || fail "--complete $cmd omits $o but 'linli $cmd $o' exited $RC"
    fi
  done
done <help.cmds
run --complete nosuchcommand
[ "$RC" -ne 0 ] && [ ! -s "$T/out" ] || fail "--complete of an unknown command printed something or succeeded"
ok "per command, --complete lists exactly the options the parser accepts"

# --version prints the project's version (CMakeLists.txt's project()).
want=$(sed -n 's/^project(linli VERSION \([0-9.]*\).*/\1/p' "$SRC/CMakeLists.txt")
must --version
[ "$(out)" = "linli $want" ] || fail "linli --version printed '$(out)', not 'linli $want'"
ok "linli --version prints linli $want"

# The bash completion script, with the two bash-completion helpers it uses
# reduced to what they do here.
complete_line() {
  # complete_line WORD...: the candidates for the last word
  bash -c '
    _init_completion() {
      words=("${COMP_WORDS[@]}"); cword=$COMP_CWORD
      cur=${COMP_WORDS[COMP_CWORD]}; prev=${COMP_WORDS[COMP_CWORD-1]}
    }
    _filedir() { COMPREPLY=("<files${1:+ $1}>"); }
    . "$0"
    COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1))
    _linli
    printf "%s\n" "${COMPREPLY[@]}" | sort | tr "\n" " "
  ' "$SRC/deploy/bash-completion/linli" "$LINLI" "$@"
}
check() {
  # check "WANT" WORD...
  want=$1
  shift
  got=$(complete_line "$@")
  [ "$got" = "$want" ] || fail "completing '$*': got '$got', want '$want'"
}
check "cert " ce
check "import import-csv incr init " -d A i
check "add append audit " --json a
check "--force --help --json --version -d -o " keygen -o k.key -
check "--seq --subject " cert issue --s
check "<files -d> " -d ""
check "<files> " export --for ""
check "district street village " cert issue --role ""
check "install issue revoke show " cert ""
check "export " help ex
ok "bash completion offers commands, options, values and cert's subcommands"

echo "$NAME: $PASS passed, $FAIL failed"
