# Constructs inside one another, and redirections of compound commands.
printf '3 c\n1 a\n2 b\n' | while read n w; do echo "$w=$n"; done
for i in 1 2 3; do echo "row $i"; done > rows.txt; cat rows.txt
{ echo first; echo second; } > grouped.txt; cat grouped.txt
if true; then echo "if out"; fi >> grouped.txt; cat grouped.txt
show() { echo "show $*"; } ; show a b > shown.txt; cat shown.txt
while read l; do echo "from file: $l"; done < rows.txt
echo "$(case x in x) echo matched;; esac)"
echo "`echo "in backquotes"`"
pat='a*'; case apple in $pat) echo "var pattern";; esac
case apple in "$pat") echo "quoted var";; *) echo "quoted is literal";; esac
total=0; for n in 1 2 3 4; do total=$((total + n * n)); done; echo "total $total"
echo $((unset_var + 2)) $(( (1 + (2 * (3 + 4))) ))
i=0; while [ $i -lt 3 ]; do j=0; while [ $j -lt 2 ]; do printf '%s%s ' $i $j; j=$((j+1)); done; i=$((i+1)); done; echo
eval 'for e in x y; do echo "eval $e"; done'
{ cd /; }; pwd; cd "$OLDPWD"
out=$( { echo one; echo two >&2; } 2>&1 ); echo "$out"
(echo to-err >&2) 2>&1 | cat
f() { (exit $1); }; f 3; echo "f $?"
g() { return $(( $1 + 1 )); }; g 4; echo "g $?"
list="c b a"; for x in $list; do printf '%s,' "$x"; done; echo
[ "abc" \< "abd" ] && echo less
x=10; [ $x -gt 5 ] && [ $x -lt 20 ] && echo "between"
n=0; until [ $n -ge 3 ]; do n=$((n+1)); [ $n = 2 ] && continue; echo "until $n"; done
r=$(for i in a b; do echo -n "$i"; done); echo "[$r]"
set -- "$(echo "one two")" three; echo "$# [$1]"
echo "${x:+x is $x}" "${nope:-nope is ${x}}"
rm -f rows.txt grouped.txt shown.txt
exec 3> fd3.txt; echo "via three" >&3; exec 3>&-; cat fd3.txt
exec 4>&1; exec > out.txt; echo hidden; exec 1>&4 4>&-; echo "shown"; cat out.txt
rm -f fd3.txt out.txt
