/* SPDX-License-Identifier: MIT OR Apache-2.0 */
/* A fixed-address Linux program (ET_EXEC, linked at 0x400000 like
 * Debian's static executables) for Manux's guest tests
 * (tests/tests/linux_programs.rs): run in the guest and on the host, the
 * two outputs compared. It checks where it was loaded, grows and shrinks
 * its program break (glibc's malloc takes small blocks from there), maps
 * anonymous memory, and exits with status 5. */
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

/* Written by a forked child in its own copy. */
static int counter = 1;

/* Uses 64 KiB of stack per level: `depth` levels deep. */
static int deep(int depth) {
    volatile char frame[64 * 1024];
    frame[0] = (char)depth;
    frame[sizeof frame - 1] = (char)depth;
    if (depth == 0) {
        return frame[0];
    }
    return deep(depth - 1) + frame[sizeof frame - 1] - frame[0] + 1;
}

/* Code never run: its page is likely never touched before a child
 * writes to it. */
__attribute__((noinline)) int never_called(int x) { return x * 7 + 3; }

/* Read only by the kernel (a write(2) from it). */
static const char quiet[] = "written from read-only data by the kernel\n";

/* The end of the program's data: its break starts above. */
extern char end;

int main(int argc, char **argv) {
    (void)argc;
    (void)argv;
    uintptr_t code = (uintptr_t)&main;
    printf("fixed: code in the low window: %s\n",
           code >= 0x400000 && code < 0x100000000 ? "yes" : "no");
    char *before = sbrk(0);
    if (before == (char *)-1) {
        printf("sbrk(0) failed\n");
        return 1;
    }
    /* Grow by 256 KiB, touch every page, shrink back. */
    char *grown = sbrk(256 * 1024);
    if (grown != before) {
        printf("sbrk(256 KiB) failed: %s\n", strerror(errno));
        return 1;
    }
    for (size_t i = 0; i < 256 * 1024; i += 4096) {
        grown[i] = (char)i;
    }
    printf("break grew by %ld KiB, zeroed after the first byte: %s\n",
           (long)(((char *)sbrk(0) - before) / 1024), grown[1] == 0 ? "yes" : "no");
    if (sbrk(-256 * 1024) == (void *)-1 || sbrk(0) != before) {
        printf("shrinking the break failed\n");
        return 1;
    }
    /* A request that can never fit: refused, the break unchanged. */
    errno = 0;
    void *huge = sbrk((intptr_t)1 << 40);
    printf("a 1 TiB break: %s (%s), unchanged: %s\n", huge == (void *)-1 ? "refused" : "granted",
           strerror(errno), sbrk(0) == before ? "yes" : "no");
    /* malloc's small blocks, from the break. */
    char *small[64];
    for (int i = 0; i < 64; i++) {
        small[i] = malloc(1000);
        if (small[i] == NULL) {
            printf("malloc failed\n");
            return 1;
        }
        memset(small[i], 'a' + i % 26, 1000);
    }
    printf("small blocks: %c%c%c, from the break: %s\n", small[0][999], small[25][0], small[63][500],
           small[63] > &end && small[63] < (char *)sbrk(0) ? "yes" : "no");
    for (int i = 0; i < 64; i++) {
        free(small[i]);
    }
    /* Anonymous memory, written and unmapped. */
    char *mapped = mmap(NULL, 1 << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (mapped == MAP_FAILED) {
        printf("mmap failed: %s\n", strerror(errno));
        return 1;
    }
    mapped[(1 << 20) - 1] = 'm';
    printf("mapped: %c\n", mapped[(1 << 20) - 1]);
    munmap(mapped, 1 << 20);
    /* 4 MiB of stack: half of Linux's default 8 MiB limit. */
    printf("64 levels of 64 KiB of stack: %d\n", deep(64));
    /* fork: the child gets a copy of everything (data, break, mappings). */
    char *heap = malloc(64);
    strcpy(heap, "parent's");
    fflush(stdout);
    pid_t pid = fork();
    if (pid < 0) {
        printf("fork failed: %s\n", strerror(errno));
        return 1;
    }
    if (pid == 0) {
        counter = 2;
        strcpy(heap, "child's");
        printf("fork child: counter %d, heap %s, same break %s\n", counter, heap,
               sbrk(0) == before ? "yes" : "no");
        fflush(stdout);
        _exit(11);
    }
    int status = 0;
    pid_t reaped = waitpid(pid, &status, 0);
    printf("fork parent: reaped %s, status %d, counter %d, heap %s\n",
           reaped == pid ? "the child" : "another", WEXITSTATUS(status), counter, heap);
    /* Code is never writable: a child writing to it is killed. */
    fflush(stdout);
    pid = fork();
    if (pid == 0) {
        *(volatile char *)&never_called = 0;
        _exit(0);
    }
    status = 0;
    waitpid(pid, &status, 0);
    printf("writing code: %s\n",
           WIFSIGNALED(status) && WTERMSIG(status) == SIGSEGV ? "killed by SIGSEGV" : "not refused");
    fflush(stdout);
    if (write(1, quiet, sizeof quiet - 1) != (ssize_t)(sizeof quiet - 1)) {
        return 1;
    }
    return 5;
}
