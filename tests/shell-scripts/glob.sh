# Pathname expansion in the shell's own view.
mkdir -p gdir/sub
cd gdir
: > b.txt; : > a.txt; : > C.txt; : > a1.log; : > a2.log; : > .hidden; : > sub/inner.txt
echo *.txt
echo a?.log
echo [ab]*.txt
echo [!a]*
echo *.none
echo "*.txt" '*.txt' \*.txt
echo .h*
echo sub/*
echo */*.txt
echo [A-Z]*
for f in *.log; do echo "log $f"; done
p='*.txt'; echo $p; echo "$p"
set -- a*; echo "$# matches"
echo *
cd ..
