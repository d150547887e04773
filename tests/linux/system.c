// SPDX-License-Identifier: MIT OR Apache-2.0
// system() and popen(): the C library runs `/bin/sh -c COMMAND` (glibc
// and musl through clone(CLONE_VM | CLONE_VFORK) and execve), waits for
// it and reports its status; popen connects a pipe to its input or
// output. The output must be the same on Linux and on Manux.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

static void report(const char *what, int status) {
    if (WIFEXITED(status))
        printf("%s: exited with %d\n", what, WEXITSTATUS(status));
    else
        printf("%s: ended otherwise (%#x)\n", what, status);
    fflush(stdout);
}

int main(void) {
    printf("system(NULL) says a shell exists: %s\n", system(NULL) ? "yes" : "no");
    fflush(stdout);
    report("system echo", system("echo printed by the shell system started"));
    report("system exit 7", system("exit 7"));
    report("system && ||", system("false || echo after false; true && echo after true"));

    FILE *from = popen("echo first line; echo second line", "r");
    if (!from) {
        perror("popen r");
        return 1;
    }
    char line[128];
    int count = 0;
    while (fgets(line, sizeof line, from)) {
        line[strcspn(line, "\n")] = 0;
        printf("read from popen: [%s]\n", line);
        count++;
    }
    printf("lines read: %d\n", count);
    fflush(stdout);
    report("pclose r", pclose(from));

    FILE *to = popen("cat", "w");
    if (!to) {
        perror("popen w");
        return 1;
    }
    fputs("written through popen\n", to);
    report("pclose w", pclose(to));
    return 0;
}
