/* SPDX-License-Identifier: MIT OR Apache-2.0 */
/* Processes, for Manux's guest tests (tests/tests/linux_programs.rs):
 * posix_spawn (glibc: clone(CLONE_VM | CLONE_VFORK) on a stack of its
 * own), vfork + execve, a vfork child writing its parent's memory,
 * waitpid with and without WNOHANG, kill with a signal, and the errors
 * (ECHILD, ESRCH, ENOENT). The program runs copies of itself: argv[1]
 * says what a copy does. It exits with status 6. */
#include <errno.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

/* Waits for `pid` and says how it ended. */
static void reap(const char *what, pid_t pid) {
    int status = 0;
    pid_t got = waitpid(pid, &status, 0);
    printf("%s: same pid %s, ", what, got == pid ? "yes" : "no");
    if (WIFEXITED(status)) {
        printf("exited with %d\n", WEXITSTATUS(status));
    } else if (WIFSIGNALED(status)) {
        printf("killed by %s\n", strsignal(WTERMSIG(status)));
    } else {
        printf("status %#x\n", status);
    }
}

int main(int argc, char **argv) {
    if (argc > 3 && strcmp(argv[1], "child") == 0) {
        printf("child %s, argc %d\n", argv[2], argc);
        return atoi(argv[3]);
    }
    if (argc > 1 && strcmp(argv[1], "spin") == 0) {
        for (;;) {
        }
    }
    int status;
    pid_t pid;
    char *spawned[] = {argv[0], "child", "spawned", "3", NULL};
    fflush(stdout);
    int error = posix_spawn(&pid, argv[0], NULL, NULL, spawned, environ);
    reap("posix_spawn child", pid);
    printf("posix_spawn: %s\n", error == 0 ? "ok" : strerror(error));

    fflush(stdout);
    pid = vfork();
    if (pid == 0) {
        char *vforked[] = {argv[0], "child", "vforked", "4", NULL};
        execve(argv[0], vforked, environ);
        _exit(127);
    }
    reap("vfork + execve child", pid);

    volatile int shared = 0;
    pid = vfork();
    if (pid == 0) {
        shared = 42;
        _exit(9);
    }
    reap("vfork child", pid);
    printf("the vfork child wrote its parent's memory: %d\n", shared);

    char *spinning[] = {argv[0], "spin", NULL};
    fflush(stdout);
    error = posix_spawn(&pid, argv[0], NULL, NULL, spinning, environ);
    pid_t none = waitpid(pid, &status, WNOHANG);
    printf("WNOHANG while it runs: %d\n", (int)none);
    printf("kill(SIGTERM): %s\n", kill(pid, SIGTERM) == 0 ? "ok" : strerror(errno));
    reap("spinning child", pid);

    errno = 0;
    printf("kill of a reaped child: %s\n", kill(pid, 0) == 0 ? "ok" : strerror(errno));
    errno = 0;
    printf("waitpid without children: %s\n", waitpid(-1, &status, 0) < 0 ? strerror(errno) : "a child");
    char *missing[] = {"missing", NULL};
    error = posix_spawn(&pid, "/no/such/program", NULL, NULL, missing, environ);
    printf("posix_spawn of a missing file: %s\n", strerror(error));
    return 6;
}
