# Here-documents.
name=world
cat <<EOT
hello $name
  indented $(echo sub) $((1+1))
EOT
cat <<'EOT'
literal $name $(echo no)
EOT
cat <<-EOT
	tabs removed $name
		twice
	EOT
cat <<"Q"
quoted "delim" \$x
Q
f() {
  cat <<END
in function: $1
END
}
f arg
for i in 1 2; do
  cat <<L
loop $i
L
done
read a b <<X
first second third
X
echo "a=$a b=$b"
while read line; do echo "got: $line"; done <<Z
x y
z
Z
cat <<A; cat <<B
one
A
two
B
cat <<E | wc -l
1
2
3
E
echo "back\\slash \$kept"
cat <<EOT
backslash \$name \\ \`x\`
EOT
