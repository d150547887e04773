# Subshells, groups, background jobs, wait, $!.
x=outer
(x=inner; echo "sub $x")
echo "after $x"
{ x=group; echo "in group $x"; }
echo "after group $x"
(cd /; pwd)
case $(pwd) in /) echo moved;; *) echo "cwd kept";; esac
(exit 3); echo "subshell status $?"
{ echo a; echo b; } | wc -l
(echo c; echo d) | wc -l
sleep_echo() { echo "job $1"; }
sleep_echo one > job1.out &
p1=$!
sleep_echo two > job2.out &
wait
cat job1.out job2.out
[ -n "$p1" ] && echo "pid set"
( echo bg ) > bg.out & wait $!; echo "wait status $?"; cat bg.out
(exit 4) & wait $!; echo "bg status $?"
f() { echo "in f $1"; }
(f sub)
echo "$(f cmdsub)"
f pipe | cat
y=1; echo $y | { read z; echo "read $z"; }
v=unexported; (echo "sees $v")
echo "$(echo "$v")"
set -- p1 p2; (echo "args $# $2")
rm -f job1.out job2.out bg.out
