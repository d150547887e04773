# Functions, return, positional parameters, shift, set --, local.
greet() {
  echo "hello $1 ($#)"
  return 3
}
greet world extra; echo "status $?"
count() { echo "$# args: $*"; }
count; count a; count "a b" c
each() { for a in "$@"; do echo "<$a>"; done; }
each 1 "2 3" '' 4
fact() {
  if [ $1 -le 1 ]; then echo 1; return; fi
  echo $(( $1 * $(fact $(( $1 - 1 ))) ))
}
fact 6
early() { echo before; return; echo after; }
early; echo "early=$?"
set -- one two three four
echo "$# $1 $4"
shift; echo "$# $1"
shift 2; echo "$# $*"
set -- "x y" z
echo "$#"; for a in "$@"; do echo "[$a]"; done
for a in $@; do echo "unquoted [$a]"; done
echo "star: $*"
v=global
scoped() { local v=inner; echo "in $v"; }
scoped; echo "out $v"
changes() { v=changed; }
changes; echo "now $v"
nested() { inner() { echo "inner $1"; }; inner "$1$1"; }
nested z; inner y
recurse() { if [ $1 -gt 0 ]; then echo "depth $1"; recurse $(($1 - 1)); fi; }
recurse 3
args() { echo "${1:-none} ${2:-none}"; }
args; args a; args a b
loop_return() { for i in 1 2 3; do if [ $i = 2 ]; then return 7; fi; echo "i=$i"; done; }
loop_return; echo "loop_return=$?"
