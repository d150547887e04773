# Conditionals, loops, case, break/continue, `!`.
x=5
if [ $x -gt 3 ]; then echo big; elif [ $x -gt 1 ]; then echo mid; else echo small; fi
if [ $x -gt 9 ]; then echo big; elif [ $x -gt 1 ]; then echo mid; else echo small; fi
if false; then echo no; fi; echo "if-none=$?"
i=0
while [ $i -lt 3 ]; do
  echo "while $i"
  i=$((i + 1))
done
until [ $i -eq 0 ]; do i=$((i - 1)); echo "until $i"; done
for w in a "b c" d; do echo "for [$w]"; done
set -- p q
for w; do echo "positional $w"; done
for w in 1 2 3 4 5 6; do
  case $w in
    2) continue ;;
    5) break ;;
  esac
  echo "kept $w"
done
for a in 1 2 3; do
  for b in x y z; do
    [ $b = y ] && continue 2
    [ $a = 3 ] && break 2
    echo "$a$b"
  done
done
for f in apple banana cherry 'a*b' x.tar.gz; do
  case "$f" in
    a*b) echo "$f: star" ;;
    b*|c*) echo "$f: b or c" ;;
    ?pple) echo "$f: ?pple" ;;
    *.tar.gz) echo "$f: tarball" ;;
    *) echo "$f: other" ;;
  esac
done
case "[x]" in \[*\]) echo bracketed;; esac
case abc in [!a]*) echo not-a;; [a-c]b?) echo range;; esac
case x in (x) echo paren-pattern;; esac
case nothing in a) echo a;; esac; echo "case-none=$?"
! true; echo "not-true=$?"
! false; echo "not-false=$?"
true && false || echo "and-or"
n=0
while :; do n=$((n+1)); if [ $n -ge 4 ]; then break; fi; done; echo "n=$n"
while false; do :; done; echo "while-none=$?"
