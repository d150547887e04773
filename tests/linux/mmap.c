/* SPDX-License-Identifier: MIT OR Apache-2.0 */
/* Memory and device files, for Manux's guest tests
 * (tests/tests/linux_programs.rs): anonymous mmap and munmap (whole and
 * partial), a touch of unmapped memory killing a child with SIGSEGV,
 * munmap giving memory back (mapping far more than the machine has, a
 * piece at a time), private mappings of a file written first (offsets,
 * the zeroed end of the last page, writes that stay private), the
 * refusals (writable shared mappings of a read-only descriptor, a
 * directory, a pipe), MAP_FIXED over the program's own mapping, the
 * device files /dev/null, /dev/zero and /dev/urandom, and statfs.
 *
 * Usage: mmap DIRECTORY [no-children] — works in DIRECTORY; with
 * no-children the child case is left out (a host that cannot run the
 * program's children). `mmap touch-unmapped` is the child. Exits 0. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

#define PAGE 4096L

/* The symbolic name of an errno value this program can meet. */
static const char *name(int error) {
    switch (error) {
    case 0: return "ok";
    case EACCES: return "EACCES";
    case EEXIST: return "EEXIST";
    case EINVAL: return "EINVAL";
    case ENODEV: return "ENODEV";
    case ENOMEM: return "ENOMEM";
    case EPERM: return "EPERM";
    case EBADF: return "EBADF";
    default: return "other";
    }
}

/* mmap's answer as "ok" or the error's name. */
static const char *outcome(void *address) {
    return name(address == MAP_FAILED ? errno : 0);
}

static char *map_anonymous(long length) {
    return mmap(NULL, length, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
}

/* The child: touches memory it has just unmapped. */
static int touch_unmapped(void) {
    volatile char *memory = (volatile char *)map_anonymous(4 * PAGE);
    memory[PAGE] = 1;
    munmap((void *)memory, 4 * PAGE);
    memory[PAGE] = 2;
    return 0;
}

static void anonymous(void) {
    char *memory = map_anonymous(3 * PAGE);
    memory[0] = 'a';
    memory[2 * PAGE] = 'c';
    printf("anonymous: %c %c, zeroed %d\n", memory[0], memory[2 * PAGE], memory[PAGE + 7]);
    int middle = munmap(memory + PAGE, PAGE);
    printf("munmap of the middle page: %d, the ends kept: %c %c\n", middle, memory[0],
           memory[2 * PAGE]);
    printf("munmap of the whole, hole included: %d\n", munmap(memory, 3 * PAGE));
    printf("munmap unaligned: %s\n", name(munmap(memory + 1, PAGE) == 0 ? 0 : errno));
}

static void child_faults(const char *program) {
    pid_t pid;
    char *arguments[] = {(char *)program, "touch-unmapped", NULL};
    fflush(stdout);
    int error = posix_spawn(&pid, program, NULL, NULL, arguments, environ);
    if (error != 0) {
        printf("posix_spawn: %s\n", strerror(error));
        return;
    }
    int status = 0;
    waitpid(pid, &status, 0);
    if (WIFSIGNALED(status)) {
        printf("child touching unmapped memory: killed by %s\n",
               WTERMSIG(status) == SIGSEGV ? "SIGSEGV" : "another signal");
    } else {
        printf("child touching unmapped memory: status %#x\n", status);
    }
}

/* Maps, touches every page of and unmaps 32 MiB, 32 times: 1 GiB in
 * all, more than the machine has, so each munmap must give it back. */
static void unmapping_frees(void) {
    long length = 32L << 20;
    int rounds = 0;
    for (int round = 0; round < 32; round++) {
        char *memory = map_anonymous(length);
        if (memory == MAP_FAILED) {
            break;
        }
        for (long at = 0; at < length; at += PAGE) {
            memory[at] = (char)round;
        }
        if (munmap(memory, length) != 0) {
            break;
        }
        rounds++;
    }
    printf("mapped, touched and unmapped 32 MiB: %d times\n", rounds);
}

static void file_mappings(void) {
    int fd = open("data", O_CREAT | O_TRUNC | O_WRONLY, 0644);
    static char page[PAGE];
    memset(page, 'A', PAGE);
    write(fd, page, PAGE);
    memset(page, 'B', PAGE);
    write(fd, page, PAGE);
    memset(page, 'C', 100);
    write(fd, page, 100);
    close(fd);

    fd = open("data", O_RDONLY);
    char *file = mmap(NULL, 3 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
    printf("private file mapping: %s\n", outcome(file));
    printf("bytes: %c %c %c %c, after the end: %d\n", file[0], file[PAGE - 1], file[PAGE],
           file[2 * PAGE + 99], file[2 * PAGE + 100] + file[3 * PAGE - 1]);
    file[0] = 'z';
    char first = 0;
    pread(fd, &first, 1, 0);
    printf("written privately: %c, the file still has %c\n", file[0], first);
    printf("munmap of the file mapping: %d\n", munmap(file, 3 * PAGE));

    char *second = mmap(NULL, PAGE, PROT_READ, MAP_PRIVATE, fd, PAGE);
    printf("at offset 4096: %s %c\n", outcome(second), second[0]);
    char *last = mmap(NULL, PAGE, PROT_READ, MAP_PRIVATE, fd, 2 * PAGE);
    printf("the last page: %c, zeroed past the end: %d\n", last[0], last[100] + last[PAGE - 1]);
    printf("unaligned offset: %s\n", outcome(mmap(NULL, PAGE, PROT_READ, MAP_PRIVATE, fd, 100)));

    char *shared = mmap(NULL, PAGE, PROT_READ, MAP_SHARED, fd, 0);
    printf("read-only shared mapping: %s %c\n", outcome(shared), shared[0]);
    printf("made writable: %s\n",
           name(mprotect(shared, PAGE, PROT_READ | PROT_WRITE) == 0 ? 0 : errno));
    printf("writable shared mapping of a read-only descriptor: %s\n",
           outcome(mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0)));
    int writer = open("data", O_WRONLY);
    printf("mapping a write-only descriptor: %s\n",
           outcome(mmap(NULL, PAGE, PROT_READ, MAP_PRIVATE, writer, 0)));
    close(writer);

    /* MAP_FIXED over a mapping of the program's own. */
    char *own = map_anonymous(4 * PAGE);
    memset(own, 'x', 4 * PAGE);
    char *over = mmap(own + PAGE, PAGE, PROT_READ, MAP_PRIVATE | MAP_FIXED, fd, PAGE);
    printf("MAP_FIXED over its own mapping: %s, at the address %s, bytes %c %c %c\n",
           outcome(over), over == own + PAGE ? "yes" : "no", own[0], own[PAGE], own[2 * PAGE]);
    char *anonymous_over = mmap(own + 2 * PAGE, PAGE, PROT_READ | PROT_WRITE,
                                MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
    printf("anonymous MAP_FIXED: %s, zeroed %d\n", outcome(anonymous_over), own[2 * PAGE]);
    munmap(own, 4 * PAGE);
    close(fd);

    int directory = open(".", O_RDONLY | O_DIRECTORY);
    printf("mapping a directory: %s\n",
           outcome(mmap(NULL, PAGE, PROT_READ, MAP_PRIVATE, directory, 0)));
    close(directory);
    int ends[2];
    pipe(ends);
    printf("mapping a pipe: %s\n", outcome(mmap(NULL, PAGE, PROT_READ, MAP_PRIVATE, ends[0], 0)));
    close(ends[0]);
    close(ends[1]);
    printf("mapping a closed descriptor: %s\n",
           outcome(mmap(NULL, PAGE, PROT_READ, MAP_PRIVATE, ends[0], 0)));
}

static void devices(void) {
    char buffer[64];
    struct stat status;
    const char *paths[] = {"/dev/null", "/dev/zero", "/dev/urandom"};
    for (int i = 0; i < 3; i++) {
        if (stat(paths[i], &status) != 0) {
            printf("%s: %s\n", paths[i], strerror(errno));
            continue;
        }
        printf("%s: character device %s, %u:%u\n", paths[i], S_ISCHR(status.st_mode) ? "yes" : "no",
               major(status.st_rdev), minor(status.st_rdev));
    }
    int null = open("/dev/null", O_RDWR);
    printf("/dev/null: read %zd, write %zd\n", read(null, buffer, sizeof buffer),
           write(null, "hello", 5));
    close(null);
    int zero = open("/dev/zero", O_RDONLY);
    memset(buffer, 'x', sizeof buffer);
    ssize_t count = read(zero, buffer, sizeof buffer);
    int zeros = 0;
    for (int i = 0; i < (int)sizeof buffer; i++) {
        zeros += buffer[i] == 0;
    }
    printf("/dev/zero: read %zd, zeros %d\n", count, zeros);
    close(zero);
    int random = open("/dev/urandom", O_RDONLY);
    unsigned char bytes[32] = {0};
    count = read(random, bytes, sizeof bytes);
    int nonzero = 0;
    for (int i = 0; i < (int)sizeof bytes; i++) {
        nonzero += bytes[i] != 0;
    }
    printf("/dev/urandom: read %zd, not all zero %s\n", count, nonzero > 0 ? "yes" : "no");
    close(random);
}

static void file_system_status(void) {
    struct statfs status;
    int result = statfs(".", &status);
    printf("statfs: %s, block size positive %s, free within the total %s, names of %ld\n",
           name(result == 0 ? 0 : errno), status.f_bsize > 0 ? "yes" : "no",
           status.f_bfree <= status.f_blocks && status.f_bavail <= status.f_bfree ? "yes" : "no",
           (long)status.f_namelen);
    int fd = open("data", O_RDONLY);
    struct statfs by_fd;
    result = fstatfs(fd, &by_fd);
    printf("fstatfs: %s, same file system %s\n", name(result == 0 ? 0 : errno),
           by_fd.f_type == status.f_type && by_fd.f_bsize == status.f_bsize ? "yes" : "no");
    close(fd);
    printf("statfs of a missing path: %s\n",
           statfs("missing", &status) == 0 ? "ok" : strerror(errno));
}

int main(int argc, char **argv) {
    if (argc > 1 && strcmp(argv[1], "touch-unmapped") == 0) {
        return touch_unmapped();
    }
    if (argc < 2) {
        printf("usage: mmap DIRECTORY [no-children]\n");
        return 2;
    }
    printf("linux mmap: start\n");
    anonymous();
    /* Before the chdir: argv[0] may be a relative name. */
    if (argc < 3 || strcmp(argv[2], "no-children") != 0) {
        child_faults(argv[0]);
    }
    if (chdir(argv[1]) != 0) {
        printf("chdir %s: %s\n", argv[1], strerror(errno));
        return 2;
    }
    unmapping_frees();
    file_mappings();
    devices();
    file_system_status();
    printf("linux mmap: done\n");
    return 0;
}
