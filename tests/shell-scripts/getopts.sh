# getopts, with grouped options, arguments and the end of options.
parse() {
  OPTIND=1
  while getopts ab:c name; do
    case $name in
      a) echo "option a" ;;
      b) echo "option b with [$OPTARG]" ;;
      c) echo "option c" ;;
    esac
  done
  shift $((OPTIND - 1))
  echo "rest: $* (OPTIND=$OPTIND)"
}
parse -a -b value -c file1 file2
parse -ac -bvalue
parse -- -a
parse plain -a
while getopts :x: opt -y; do echo "silent [$opt] [$OPTARG]"; done
