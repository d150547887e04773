# Parameter expansion, arithmetic, command substitution, splitting.
v=abc.tar.gz
echo ${v%.gz} ${v%%.*} ${v#*.} ${v##*.} ${#v}
echo "${v%.*}" "${v#abc}" "${v%x}"
unset u; e=
echo "${u:-dflt} ${e:-dflt} ${e-dflt}x ${u-dflt}"
echo "${u:+alt}x ${v:+alt} ${e+set}"
echo "${w:=assigned} $w"
echo "${e:=now} $e"
p='*.gz'; echo "${v%$p}" "${v%"$p"}"
echo $((1 + 2 * 3)) $(( (1 + 2) * 3 )) $((7 / 2)) $((7 % 3)) $((-7 / 2))
echo $((1 << 4)) $((255 >> 2)) $((5 & 3)) $((5 | 3)) $((5 ^ 3)) $((~5))
echo $((3 > 2)) $((3 < 2)) $((2 <= 2)) $((2 >= 3)) $((2 == 2)) $((2 != 2))
echo $((1 && 0)) $((1 || 0)) $((!5)) $((0 ? 10 : 20)) $((1 ? 10 : 20))
n=5; echo $((n * 2)) $(($n + 1)) $((n += 3)) $n $((n -= 1)) $((n *= 2)) $((n /= 3)) $((n %= 3))
echo $((0x1f)) $((010)) $((-3 + +2))
a=3 b=4; echo $(( a * a + b * b ))
echo "$(echo inner)" `echo back` "$(echo "nested $(echo deep)")"
echo "$(printf 'a\n\n\n')|"
x=$(false); echo "sub-status=$?"
lines=$(printf '1\n2\n3'); echo "$lines" | while read l; do echo "line $l"; done
words="a  b   c"; for w in $words; do echo "w=$w"; done; echo "$words"
IFS=:; path="x:y::z"; for p in $path; do echo "p=[$p]"; done; unset IFS
set -- "a b" c; echo "$*"; IFS=-; echo "$*"; unset IFS
echo 'single $v' "double $v" \$v "a\"b" 'it'\''s'
case ~ in /*) echo tilde;; esac
empty=""; set -- $empty; echo "empty-args=$#"; set -- "$empty"; echo "quoted-empty=$#"
echo "${#}" "${#v}"
c=$(echo a; echo b); echo "$c"
echo $(echo "  spaced   out  ")
echo "$(echo "  spaced   out  ")"
echo `echo \`echo nested-back\``
echo "a${v}b" "a$v"b
num=$(( $(echo 6) * 7 )); echo $num
