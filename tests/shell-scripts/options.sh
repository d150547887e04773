# set -e, set -u, set -x, traps.
(set -e; echo start; false; echo not-reached); echo "set-e status $?"
(set -e; false || echo handled; if false; then :; fi; ! true; echo survived)
(set -e; f() { false; echo "in f"; }; f || echo "f failed")
(set -u; echo "${unset_var-default}"; echo "${unset_var:-x}")
(set -u; x=1; echo "$x")
(set -x; echo traced) 2>&1
(set -x; v=1; echo "$v" "a b") 2>&1
(trap 'echo bye' EXIT; echo hi)
(trap 'echo exit-trap $?' EXIT; exit 5); echo "status $?"
trap 'echo listed' EXIT; trap; trap - EXIT; trap
(trap 'echo int' INT; trap)
case $- in *e*) echo e;; *) echo "no e";; esac
set -- a b c; echo "$#"
set -e; true; set +e; false; echo "after +e"
