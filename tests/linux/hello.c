/* SPDX-License-Identifier: MIT OR Apache-2.0 */
/* A Linux program for Manux's guest tests (tests/tests/linux_programs.rs):
 * built static-PIE by Debian's compilers, run unmodified in the guest and
 * on the host, and the two outputs compared. It prints its arguments and
 * one environment variable, copies them through malloc, writes with
 * write(2) and stdio, and exits with status 3. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char **argv) {
    printf("linux hello: argc = %d\n", argc);
    for (int i = 1; i < argc; i++) {
        printf("argv[%d] = %s\n", i, argv[i]);
    }
    const char *home = getenv("HOME");
    printf("HOME = %s\n", home ? home : "(unset)");
    size_t total = 0;
    for (int i = 0; i < argc; i++) {
        total += strlen(argv[i]) + 1;
    }
    char *joined = malloc(total + 1);
    if (joined == NULL) {
        printf("malloc failed\n");
        return 1;
    }
    joined[0] = '\0';
    for (int i = 1; i < argc; i++) {
        strcat(joined, argv[i]);
        strcat(joined, i + 1 < argc ? "+" : "");
    }
    /* A larger block: glibc takes it from mmap. */
    char *big = malloc(1 << 20);
    if (big == NULL) {
        printf("big malloc failed\n");
        return 1;
    }
    memset(big, 'x', 1 << 20);
    printf("joined = %s, big[12345] = %c\n", joined, big[12345]);
    free(big);
    free(joined);
    fflush(stdout);
    static const char direct[] = "written with write(2)\n";
    if (write(1, direct, sizeof direct - 1) != (ssize_t)(sizeof direct - 1)) {
        return 1;
    }
    return 3;
}
