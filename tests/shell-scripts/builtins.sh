# test, printf, read, eval, ., type, command -v, echo.
[ a = a ] && echo eq; [ a != b ] && echo ne; test -z "" && echo empty
[ -n x ] && echo nonempty; [ 3 -lt 5 ] && [ 5 -ge 5 ] && echo ints
[ ! -f nosuch ] && echo "no file"; [ -d . ] && echo dir
: > tfile; [ -f tfile ] && [ -e tfile ] && [ ! -s tfile ] && echo "empty file"
echo data > tfile; [ -s tfile ] && echo "has data"
[ a = a -a b = b ] && echo and; [ a = b -o b = b ] && echo or
[ \( a = b \) -o c = c ] && echo parens
test; echo "no args $?"; [ "" ]; echo "empty arg $?"; [ x ]; echo "one arg $?"
[ 1 -eq 2 ]; echo "status $?"
printf '%s|%5s|%-5s|%.2s\n' abc de fg hij
printf '%d %i %5d %-5d| %05d %+d %x %X %o %#x %#o\n' 42 -7 3 4 5 6 255 255 8 255 8
printf '%c%c\n' hello world
printf '%s\n' one two three
printf '%s=%s\n' a 1 b 2 c
printf 'no newline'; printf '\n'
printf '%b\n' 'tab\there' 'new\nline'
printf 'esc: \\ \t| \101\n'
printf '%%|%s|\n' x
printf '%d\n' "'A"
printf '%3d|%-3d|\n' 1 2
echo -n "no nl"; echo
echo 'e\tscape'
echo a\\nb
read x y <<EOF2
one two three
EOF2
echo "x=$x y=$y"
printf 'a\\b c\n' | { read -r r; printf "raw %s\n" "$r"; }
printf 'a\\b c\n' | { read r; printf "cooked %s\n" "$r"; }
printf '  lead  trail  \n' | { read r; echo "[$r]"; }
printf 'k:v:w\n' | { IFS=: read a b; echo "$a|$b"; }
printf 'last' | { read l; echo "status $? [$l]"; }
cmd='echo evaluated $((2+3))'; eval "$cmd"
eval 'set -- e1 e2'; echo "$# $1"
eval "z=zz"; echo $z
echo 'sourced=yes; echo "in dot $sourced"' > dotfile
. ./dotfile; echo "after dot $sourced"
type echo; type if; type cd
f() { :; }; type f
command -v echo; command -v f; command -v if
command -v nosuchcommand || echo "not found $?"
command echo via-command
rm -f tfile dotfile
true; echo "true $?"; false; echo "false $?"
readonly ro=fixed; readonly; (echo "in sub $ro")
