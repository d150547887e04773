/* SPDX-License-Identifier: MIT OR Apache-2.0 */
/* Signals, for Manux's guest tests (tests/tests/linux_programs.rs):
 * handlers run for kill(getpid()) and raise, SA_SIGINFO's siginfo, a
 * blocked signal pending until unblocked, SIG_IGN, SA_RESETHAND,
 * SIGPIPE with a handler (the write still EPIPE), SIGCHLD after a
 * posix_spawn'ed child ends (taken in sigsuspend), nested handlers,
 * registers and the floating-point control kept across a handler, a
 * pipe read restarted after an SA_RESTART handler, SIGTERM's default
 * action ending a child, alarm and pause, a sleep interrupted by
 * SIGALRM (the time left written back), an interval timer
 * (setitimer, getitimer), a timer outliving execve, sigaltstack
 * with SA_ONSTACK, and handlers for faults: SIGSEGV and SIGILL with
 * si_addr, a stack overflow caught on the alternate stack, and the
 * overflows that end a process (no alternate stack, SIGSEGV blocked).
 * The program runs copies of itself:
 * argv[1] says what a copy does. Exits with status 0.
 *
 * `interrupt` and `interrupt-default` are for the Ctrl-C test: the first
 * waits for SIGINT with a handler and says so, the second spins until
 * SIGINT's default action ends it. */
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <spawn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

static volatile sig_atomic_t usr1_count;
static volatile sig_atomic_t pipe_count;
static volatile sig_atomic_t reset_count;
static volatile int info_signo, info_pid, info_code;
static volatile int chld_count, chld_pid, chld_status, chld_code;
static volatile sig_atomic_t interrupt_count;
static volatile int interrupt_code;
static volatile sig_atomic_t alarm_count;

/* The alternate stack, and what a handler saw of it. */
static char alternate[65536];
static volatile int stack_inside, stack_flags, stack_change_refused;

/* Where a fault handler goes back to, and what it saw. */
static sigjmp_buf fault_return;
static volatile int fault_signo;
static void *volatile fault_address;
/* Never equal to a depth: keeps the compiler from calling the recursion
 * infinite. */
static volatile int depth_limit = -1;
/* An address no process has (below Linux's mmap_min_addr). */
static int *volatile unmapped = (int *)(uintptr_t)64;

/* One illegal instruction, as a function. */
__asm__(".text\n"
        ".p2align 4\n"
        ".globl illegal_instruction\n"
        ".hidden illegal_instruction\n"
        ".type illegal_instruction, %function\n"
        "illegal_instruction:\n"
#if defined(__aarch64__)
        "udf #0\n"
#else
        "ud2\n"
#endif
);
void illegal_instruction(void);

/* One instruction only the kernel may run, as a function: Linux answers
 * it with SIGILL on AArch64 (an undefined instruction at EL0) and with
 * SIGSEGV on x86_64 (a general-protection fault). */
__asm__(".text\n"
        ".p2align 4\n"
        ".globl privileged_instruction\n"
        ".hidden privileged_instruction\n"
        ".type privileged_instruction, %function\n"
        "privileged_instruction:\n"
#if defined(__aarch64__)
        "mrs x0, ttbr1_el1\n"
        "ret\n"
#else
        "hlt\n"
        "ret\n"
#endif
);
void privileged_instruction(void);
#if defined(__aarch64__)
#define PRIVILEGED_SIGNAL SIGILL
#else
#define PRIVILEGED_SIGNAL SIGSEGV
#endif

/* What the nested handlers did, in order (no stdio in a handler). */
static char trace[64];
static volatile int trace_length;

static void note(const char *word) {
    while (*word && trace_length < (int)sizeof trace - 1) {
        trace[trace_length++] = *word++;
    }
    trace[trace_length] = 0;
}

static void on_usr1(int signo) {
    (void)signo;
    usr1_count++;
}

static void on_info(int signo, siginfo_t *info, void *context) {
    (void)context;
    info_signo = signo == info->si_signo ? signo : -1;
    info_pid = info->si_pid;
    info_code = info->si_code;
}

static void on_pipe(int signo) {
    (void)signo;
    pipe_count++;
}

static void on_reset(int signo) {
    (void)signo;
    reset_count++;
}

static void on_chld(int signo, siginfo_t *info, void *context) {
    (void)signo;
    (void)context;
    chld_count++;
    chld_pid = info->si_pid;
    chld_status = info->si_status;
    chld_code = info->si_code;
}

static void on_inner(int signo) {
    (void)signo;
    note("inner ");
}

static void on_outer(int signo) {
    (void)signo;
    note("outer-start ");
    raise(SIGUSR2);
    note("outer-end");
}

static void on_alarm(int signo) {
    (void)signo;
    alarm_count++;
}

/* Whether it runs on the alternate stack, what sigaltstack says there,
 * and whether changing the stack there is refused (EPERM). */
static void on_stack_check(int signo) {
    (void)signo;
    int saved = errno;
    char local;
    stack_inside = &local > alternate && &local < alternate + sizeof alternate;
    stack_t now;
    sigaltstack(NULL, &now);
    stack_flags = now.ss_flags;
    stack_t change = {alternate, 0, sizeof alternate};
    stack_change_refused = sigaltstack(&change, NULL) == -1 && errno == EPERM;
    errno = saved;
}

static void on_fault(int signo, siginfo_t *info, void *context) {
    (void)context;
    fault_signo = signo;
    fault_address = info->si_addr;
    siglongjmp(fault_return, 1);
}

/* A stack overflow's SIGSEGV: says where it runs, and ends the copy. */
static void on_overflow(int signo) {
    (void)signo;
    char local;
    static const char on[] = "stack overflow caught on the alternate stack: yes\n";
    static const char off[] = "stack overflow caught on the alternate stack: no\n";
    int inside = &local > alternate && &local < alternate + sizeof alternate;
    if (write(1, inside ? on : off, inside ? sizeof on - 1 : sizeof off - 1) < 0) {
        _exit(2);
    }
    _exit(0);
}

/* Small frames, each touched: the stack grows a page at a time, so the
 * overflow faults on the page below the stack. */
static int recurse(int depth) {
    volatile char block[512];
    block[0] = (char)depth;
    if (depth == depth_limit) {
        return 0;
    }
    return recurse(depth + 1) + block[0];
}

/* A copy that overflows its stack with a SIGSEGV handler: on the
 * alternate stack (`altstack`) it runs; without one (`no-altstack`) its
 * frame cannot be written, and with SIGSEGV blocked (`blocked`) it is not
 * run: SIGSEGV ends the copy. */
static int overflow(const char *how) {
    struct sigaction action;
    memset(&action, 0, sizeof action);
    action.sa_handler = on_overflow;
    sigemptyset(&action.sa_mask);
    if (strcmp(how, "altstack") == 0) {
        stack_t stack = {alternate, 0, sizeof alternate};
        sigaltstack(&stack, NULL);
        action.sa_flags = SA_ONSTACK;
    }
    sigaction(SIGSEGV, &action, NULL);
    /* A host with an unlimited stack would grow it into all its memory. */
    struct rlimit limit;
    if (getrlimit(RLIMIT_STACK, &limit) == 0 && limit.rlim_cur > (8 << 20)) {
        limit.rlim_cur = 8 << 20;
        setrlimit(RLIMIT_STACK, &limit);
    }
    if (strcmp(how, "blocked") == 0) {
        sigset_t segv;
        sigemptyset(&segv);
        sigaddset(&segv, SIGSEGV);
        sigprocmask(SIG_BLOCK, &segv, NULL);
        *unmapped = 1;
        return 4;
    }
    return recurse(0);
}

static void on_interrupt(int signo, siginfo_t *info, void *context) {
    (void)signo;
    (void)context;
    interrupt_count++;
    interrupt_code = info->si_code;
}

/* The floating-point rounding control: FPCR.RMode (bits 22-23) on
 * AArch64, MXCSR.RC (bits 13-14) on x86_64; 3 is toward zero. */
static unsigned rounding(void) {
#if defined(__aarch64__)
    unsigned long fpcr;
    __asm__ volatile("mrs %0, fpcr" : "=r"(fpcr));
    return (fpcr >> 22) & 3;
#else
    unsigned mxcsr;
    __asm__ volatile("stmxcsr %0" : "=m"(mxcsr));
    return (mxcsr >> 13) & 3;
#endif
}

static void set_rounding(unsigned mode) {
#if defined(__aarch64__)
    unsigned long fpcr;
    __asm__ volatile("mrs %0, fpcr" : "=r"(fpcr));
    fpcr = (fpcr & ~(3ul << 22)) | ((unsigned long)mode << 22);
    __asm__ volatile("msr fpcr, %0" : : "r"(fpcr));
#else
    unsigned mxcsr;
    __asm__ volatile("stmxcsr %0" : "=m"(mxcsr));
    mxcsr = (mxcsr & ~(3u << 13)) | (mode << 13);
    __asm__ volatile("ldmxcsr %0" : : "m"(mxcsr));
#endif
}

/* A handler that changes what it can: the rounding mode, and (by its
 * calls) the caller-saved registers. */
static void on_clobber(int signo) {
    (void)signo;
    set_rounding(2);
    volatile double x = 1.0;
    for (int i = 0; i < 10; i++) {
        x = x * 3.0 + 1.0;
    }
    usr1_count += x > 0;
}

/* kill(getpid(), SIGUSR1) with the call made directly, with known
 * values in registers the kernel keeps across a system call; the
 * handler runs before the call returns. Whether each came back. */
static int registers_kept(void) {
    long pid = getpid();
#if defined(__aarch64__)
    register long x0 __asm__("x0") = pid;
    register long x1 __asm__("x1") = SIGUSR1;
    register long x8 __asm__("x8") = SYS_kill;
    register long x9 __asm__("x9") = 0x0909090909;
    register long x10 __asm__("x10") = 0x1010101010;
    register long x11 __asm__("x11") = 0x1111111111;
    register long x15 __asm__("x15") = 0x1515151515;
    register long x17 __asm__("x17") = 0x1717171717;
    __asm__ volatile("svc #0"
                     : "+r"(x0), "+r"(x1), "+r"(x9), "+r"(x10), "+r"(x11), "+r"(x15), "+r"(x17)
                     : "r"(x8)
                     : "memory");
    return x0 == 0 && x1 == SIGUSR1 && x9 == 0x0909090909 && x10 == 0x1010101010 &&
           x11 == 0x1111111111 && x15 == 0x1515151515 && x17 == 0x1717171717;
#else
    register long r8 __asm__("r8") = 0x0808080808;
    register long r9 __asm__("r9") = 0x0909090909;
    register long r10 __asm__("r10") = 0x1010101010;
    long rax = SYS_kill, rdi = pid, rsi = SIGUSR1, rdx = 0x0d0d0d0d0d;
    __asm__ volatile("syscall"
                     : "+a"(rax), "+D"(rdi), "+S"(rsi), "+d"(rdx), "+r"(r8), "+r"(r9), "+r"(r10)
                     :
                     : "rcx", "r11", "memory");
    return rax == 0 && rdi == pid && rsi == SIGUSR1 && rdx == 0x0d0d0d0d0d &&
           r8 == 0x0808080808 && r9 == 0x0909090909 && r10 == 0x1010101010;
#endif
}

static void set_handler(int signo, void (*handler)(int), int flags) {
    struct sigaction action;
    memset(&action, 0, sizeof action);
    action.sa_handler = handler;
    action.sa_flags = flags;
    sigemptyset(&action.sa_mask);
    sigaction(signo, &action, NULL);
}

static void set_info_handler(int signo, void (*handler)(int, siginfo_t *, void *)) {
    struct sigaction action;
    memset(&action, 0, sizeof action);
    action.sa_sigaction = handler;
    action.sa_flags = SA_SIGINFO;
    sigemptyset(&action.sa_mask);
    sigaction(signo, &action, NULL);
}

static const char *yes(int condition) {
    return condition ? "yes" : "no";
}

/* A copy reading a pipe with an SA_RESTART handler for SIGUSR1: says
 * it is ready on `ready`, reads `input` (its parent signals it, then
 * writes), reports. */
static int restart_reader(int input, int ready) {
    set_handler(SIGUSR1, on_usr1, SA_RESTART);
    if (write(ready, "r", 1) != 1) {
        return 2;
    }
    char byte = 0;
    ssize_t got = read(input, &byte, 1);
    printf("pipe read across an SA_RESTART handler: %d '%c', handler ran %d\n", (int)got,
           got == 1 ? byte : '?', (int)usr1_count);
    return 0;
}

static void wait_for_interrupt(void) {
    set_info_handler(SIGINT, on_interrupt);
    sigset_t interrupt, empty;
    sigemptyset(&interrupt);
    sigaddset(&interrupt, SIGINT);
    sigemptyset(&empty);
    sigprocmask(SIG_BLOCK, &interrupt, NULL);
    printf("waiting for Ctrl-C\n");
    fflush(stdout);
    while (interrupt_count == 0) {
        sigsuspend(&empty);
    }
    printf("SIGINT caught, from the kernel: %s\n", yes(interrupt_code == SI_KERNEL));
}

static pid_t spawn_self(char *argv0, char *const arguments[]) {
    pid_t pid = -1;
    fflush(stdout);
    int error = posix_spawn(&pid, argv0, NULL, NULL, arguments, environ);
    if (error != 0) {
        printf("posix_spawn: %s\n", strerror(error));
        exit(1);
    }
    return pid;
}

int main(int argc, char **argv) {
    if (argc > 2 && strcmp(argv[1], "exit") == 0) {
        return atoi(argv[2]);
    }
    if (argc > 1 && strcmp(argv[1], "spin") == 0) {
        for (;;) {
        }
    }
    if (argc > 3 && strcmp(argv[1], "restart") == 0) {
        return restart_reader(atoi(argv[2]), atoi(argv[3]));
    }
    if (argc > 1 && strcmp(argv[1], "alarm-exec") == 0) {
        /* A pending timer outlives execve; the new program has no
         * handler, so SIGALRM ends it. */
        struct itimerval soon = {{0, 0}, {0, 50000}};
        setitimer(ITIMER_REAL, &soon, NULL);
        char *spinning[] = {argv[0], "spin", NULL};
        execve(argv[0], spinning, environ);
        return 3;
    }
    if (argc > 2 && strcmp(argv[1], "overflow") == 0) {
        return overflow(argv[2]);
    }
    if (argc > 1 && strcmp(argv[1], "interrupt") == 0) {
        wait_for_interrupt();
        return 0;
    }
    if (argc > 1 && strcmp(argv[1], "interrupt-default") == 0) {
        printf("spinning until Ctrl-C\n");
        fflush(stdout);
        for (;;) {
        }
    }

    printf("linux signals: start\n");
    pid_t me = getpid();

    /* A handler, from kill to oneself. */
    set_handler(SIGUSR1, on_usr1, 0);
    kill(me, SIGUSR1);
    printf("SIGUSR1 handler ran: %d\n", (int)usr1_count);

    /* SA_SIGINFO. */
    set_info_handler(SIGUSR2, on_info);
    kill(me, SIGUSR2);
    printf("siginfo: signo %d, pid mine %s, SI_USER %s\n", info_signo, yes(info_pid == me),
           yes(info_code == SI_USER));
    raise(SIGUSR2);
    printf("raise: SI_TKILL %s\n", yes(info_code == SI_TKILL));

    /* Blocked: pending until unblocked. */
    sigset_t usr1, pending;
    sigemptyset(&usr1);
    sigaddset(&usr1, SIGUSR1);
    sigprocmask(SIG_BLOCK, &usr1, NULL);
    usr1_count = 0;
    kill(me, SIGUSR1);
    sigpending(&pending);
    printf("blocked: handler ran %d, pending %s\n", (int)usr1_count,
           yes(sigismember(&pending, SIGUSR1)));
    sigprocmask(SIG_UNBLOCK, &usr1, NULL);
    sigpending(&pending);
    printf("unblocked: handler ran %d, pending %s\n", (int)usr1_count,
           yes(sigismember(&pending, SIGUSR1)));

    /* Ignored. */
    signal(SIGUSR2, SIG_IGN);
    kill(me, SIGUSR2);
    sigpending(&pending);
    printf("SIG_IGN: still here, pending %s\n", yes(sigismember(&pending, SIGUSR2)));

    /* SA_RESETHAND: once, then the default again. */
    set_handler(SIGHUP, on_reset, SA_RESETHAND);
    raise(SIGHUP);
    struct sigaction now;
    sigaction(SIGHUP, NULL, &now);
    printf("SA_RESETHAND: ran %d, now SIG_DFL %s\n", (int)reset_count,
           yes(now.sa_handler == SIG_DFL));

    /* SIGPIPE with a handler: raised, then by a write to a pipe nobody
     * reads, which still fails with EPIPE. */
    set_handler(SIGPIPE, on_pipe, 0);
    raise(SIGPIPE);
    int ends[2];
    if (pipe(ends) != 0) {
        printf("pipe: %s\n", strerror(errno));
        return 1;
    }
    close(ends[0]);
    errno = 0;
    ssize_t wrote = write(ends[1], "x", 1);
    int write_error = errno;
    close(ends[1]);
    printf("SIGPIPE: handler ran %d, write %d %s\n", (int)pipe_count, (int)wrote,
           write_error == EPIPE ? "EPIPE" : strerror(write_error));

    /* Nested: SIGUSR2's handler runs inside SIGUSR1's. */
    set_handler(SIGUSR1, on_outer, 0);
    set_handler(SIGUSR2, on_inner, 0);
    raise(SIGUSR1);
    printf("nested: %s\n", trace);

    /* Registers and the floating-point control across a handler. */
    set_handler(SIGUSR1, on_clobber, 0);
    set_rounding(3);
    long before = 0;
    for (long i = 1; i <= 100; i++) {
        before += i * i;
    }
    int kept = registers_kept();
    long after = 0;
    for (long i = 1; i <= 100; i++) {
        after += i * i;
    }
    unsigned mode = rounding();
    set_rounding(0);
    printf("registers kept across a handler: %s, locals %ld %ld, rounding kept %s\n", yes(kept),
           before, after, yes(mode == 3));

    /* SIGCHLD: blocked while the child runs, taken in sigsuspend. */
    set_info_handler(SIGCHLD, on_chld);
    sigset_t child, empty;
    sigemptyset(&child);
    sigaddset(&child, SIGCHLD);
    sigemptyset(&empty);
    sigprocmask(SIG_BLOCK, &child, NULL);
    char *exiting[] = {argv[0], "exit", "7", NULL};
    pid_t pid = spawn_self(argv[0], exiting);
    int status = 0;
    pid_t reaped = waitpid(pid, &status, 0);
    printf("child exited with %d, same pid %s, SIGCHLD so far %d\n", WEXITSTATUS(status),
           yes(reaped == pid), chld_count);
    errno = 0;
    int suspended = sigsuspend(&empty);
    printf("sigsuspend: %d %s; SIGCHLD %d: pid %s, status %d, CLD_EXITED %s\n", suspended,
           errno == EINTR ? "EINTR" : strerror(errno), chld_count, yes(chld_pid == pid),
           chld_status, yes(chld_code == CLD_EXITED));
    sigprocmask(SIG_UNBLOCK, &child, NULL);
    signal(SIGCHLD, SIG_DFL);

    /* A read restarted after an SA_RESTART handler, in a child. */
    int to_child[2], from_child[2];
    if (pipe(to_child) != 0 || pipe(from_child) != 0) {
        printf("pipe: %s\n", strerror(errno));
        return 1;
    }
    char input[16], ready[16];
    snprintf(input, sizeof input, "%d", to_child[0]);
    snprintf(ready, sizeof ready, "%d", from_child[1]);
    char *restarting[] = {argv[0], "restart", input, ready, NULL};
    pid = spawn_self(argv[0], restarting);
    char byte;
    if (read(from_child[0], &byte, 1) != 1) {
        printf("the reader never got ready\n");
        return 1;
    }
    usleep(50000);
    kill(pid, SIGUSR1);
    if (write(to_child[1], "x", 1) != 1) {
        printf("write: %s\n", strerror(errno));
    }
    waitpid(pid, &status, 0);
    printf("reader exited with %d\n", WEXITSTATUS(status));
    close(to_child[0]);
    close(to_child[1]);
    close(from_child[0]);
    close(from_child[1]);

    /* SIGTERM's default action ends a child. */
    char *spinning[] = {argv[0], "spin", NULL};
    pid = spawn_self(argv[0], spinning);
    kill(pid, SIGTERM);
    waitpid(pid, &status, 0);
    printf("SIGTERM: signaled %s, WTERMSIG %d\n", yes(WIFSIGNALED(status)),
           WIFSIGNALED(status) ? WTERMSIG(status) : -1);

    /* alarm, and pause ended by its handler. */
    set_handler(SIGALRM, on_alarm, 0);
    printf("alarm(1): previous %u\n", alarm(1));
    errno = 0;
    int paused = pause();
    printf("pause: %d %s, SIGALRM handler ran %d\n", paused,
           errno == EINTR ? "EINTR" : strerror(errno), (int)alarm_count);
    printf("alarm(30): previous %u\n", alarm(30));
    printf("alarm(0): previous %u\n", alarm(0));

    /* A sleep a signal interrupts says how long it had left. */
    struct itimerval brief = {{0, 0}, {0, 50000}};
    setitimer(ITIMER_REAL, &brief, NULL);
    struct timespec request = {5, 0}, remaining = {0, 0};
    errno = 0;
    int slept = nanosleep(&request, &remaining);
    printf("nanosleep interrupted: %d %s, %ld s left\n", slept,
           errno == EINTR ? "EINTR" : strerror(errno), (long)remaining.tv_sec);

    /* An interval timer: SIGALRM again and again, until disarmed. */
    struct itimerval timer = {{0, 20000}, {0, 30000}}, left, old;
    alarm_count = 0;
    printf("setitimer: %d\n", setitimer(ITIMER_REAL, &timer, NULL));
    while (alarm_count < 3) {
        pause();
    }
    getitimer(ITIMER_REAL, &left);
    printf("getitimer: interval %ld us, armed %s\n", (long)left.it_interval.tv_usec,
           yes(left.it_value.tv_sec == 0 && left.it_value.tv_usec > 0 &&
               left.it_value.tv_usec <= 20000));
    struct itimerval off = {{0, 0}, {0, 0}};
    setitimer(ITIMER_REAL, &off, &old);
    getitimer(ITIMER_REAL, &left);
    printf("disarmed: old interval %ld us, now %ld %ld\n", (long)old.it_interval.tv_usec,
           (long)left.it_value.tv_sec, (long)left.it_value.tv_usec);
    errno = 0;
    int refused = setitimer(7, &timer, NULL);
    printf("setitimer of timer 7: %d %s\n", refused, errno == EINVAL ? "EINVAL" : strerror(errno));
    signal(SIGALRM, SIG_DFL);
    char *alarmed[] = {argv[0], "alarm-exec", NULL};
    pid = spawn_self(argv[0], alarmed);
    waitpid(pid, &status, 0);
    printf("alarm across execve: signaled %s, WTERMSIG %d\n", yes(WIFSIGNALED(status)),
           WIFSIGNALED(status) ? WTERMSIG(status) : -1);

    /* sigaltstack and SA_ONSTACK. */
    stack_t stack;
    sigaltstack(NULL, &stack);
    printf("sigaltstack at start: SS_DISABLE %s\n", yes(stack.ss_flags == SS_DISABLE));
    stack_t small = {alternate, 0, 1024};
    errno = 0;
    int result = sigaltstack(&small, NULL);
    printf("sigaltstack below MINSIGSTKSZ: %d %s\n", result,
           errno == ENOMEM ? "ENOMEM" : strerror(errno));
    stack_t odd = {alternate, 0x10, sizeof alternate};
    errno = 0;
    result = sigaltstack(&odd, NULL);
    printf("sigaltstack with unknown flags: %d %s\n", result,
           errno == EINVAL ? "EINVAL" : strerror(errno));
    stack_t alternate_stack = {alternate, 0, sizeof alternate};
    printf("sigaltstack: %d\n", sigaltstack(&alternate_stack, NULL));
    sigaltstack(NULL, &stack);
    printf("sigaltstack now: flags %d, base %s, size %s\n", stack.ss_flags,
           yes(stack.ss_sp == alternate), yes(stack.ss_size == sizeof alternate));
    set_handler(SIGUSR2, on_stack_check, SA_ONSTACK);
    raise(SIGUSR2);
    printf("SA_ONSTACK: on the alternate stack %s, SS_ONSTACK %s, changing it EPERM %s\n",
           yes(stack_inside), yes(stack_flags == SS_ONSTACK), yes(stack_change_refused));
    set_handler(SIGUSR2, on_stack_check, 0);
    raise(SIGUSR2);
    printf("without SA_ONSTACK: on the alternate stack %s, flags %d\n", yes(stack_inside),
           stack_flags);
    stack_t disable = {NULL, SS_DISABLE, 0};
    sigaltstack(&disable, NULL);
    sigaltstack(NULL, &stack);
    printf("disabled: SS_DISABLE %s\n", yes(stack.ss_flags == SS_DISABLE));

    /* Faults: handlers for SIGSEGV and SIGILL run, with si_addr. */
    set_info_handler(SIGSEGV, on_fault);
    if (sigsetjmp(fault_return, 1) == 0) {
        *unmapped = 1;
    }
    printf("SIGSEGV handler: signo %d, si_addr %s\n", fault_signo,
           yes(fault_address == (void *)unmapped));
    set_info_handler(SIGILL, on_fault);
    if (sigsetjmp(fault_return, 1) == 0) {
        illegal_instruction();
    }
    printf("SIGILL handler: signo %d, si_addr %s\n", fault_signo,
           yes(fault_address == (void *)illegal_instruction));
    fault_signo = 0;
    if (sigsetjmp(fault_return, 1) == 0) {
        privileged_instruction();
    }
    printf("privileged instruction: Linux's signal %s\n", yes(fault_signo == PRIVILEGED_SIGNAL));
    signal(SIGSEGV, SIG_DFL);
    signal(SIGILL, SIG_DFL);
    const char *overflows[] = {"altstack", "no-altstack", "blocked"};
    for (int i = 0; i < 3; i++) {
        char *overflowing[] = {argv[0], "overflow", (char *)overflows[i], NULL};
        pid = spawn_self(argv[0], overflowing);
        waitpid(pid, &status, 0);
        if (WIFSIGNALED(status)) {
            printf("fault (%s): WTERMSIG %d\n", overflows[i], WTERMSIG(status));
        } else {
            printf("fault (%s): exited with %d\n", overflows[i], WEXITSTATUS(status));
        }
    }

    printf("linux signals: done\n");
    return 0;
}
