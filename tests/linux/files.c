/* SPDX-License-Identifier: MIT OR Apache-2.0 */
/* A Linux program for Manux's guest tests (tests/tests/linux_programs.rs):
 * works with files and directories under the directory given as its only
 * argument (it makes `files-test` there and removes it at the end), and
 * prints only what is the same on every Linux-like system: sizes, types,
 * link counts, contents, sorted listings, and errors by their C names.
 * Built static-PIE by Debian's compilers, run unmodified in the guest and
 * on the host, and the two outputs compared line by line. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <sys/sysinfo.h>
#include <sys/uio.h>
#include <sys/utsname.h>
#include <sched.h>
#include <time.h>
#include <unistd.h>

#ifndef __GLIBC__
/* musl 1.2.3 (Debian bookworm's, for the musl builds) has no statx or
 * renameat2 functions: the system calls themselves, with Linux's
 * struct statx (256 bytes; only the fields printed are named). */
#include <stdint.h>
#include <sys/syscall.h>
#define STATX_BASIC_STATS 0x7ffU
struct statx {
    uint32_t stx_mask, stx_blksize;
    uint64_t stx_attributes;
    uint32_t stx_nlink, stx_uid, stx_gid;
    uint16_t stx_mode, spare;
    uint64_t stx_ino, stx_size, rest[28];
};
static int statx(int directory, const char *path, int flags, unsigned mask,
                 struct statx *result) {
    return syscall(SYS_statx, directory, path, flags, mask, result);
}
static int renameat2(int from_directory, const char *from, int to_directory, const char *to,
                     unsigned flags) {
    return syscall(SYS_renameat2, from_directory, from, to_directory, to, flags);
}
#endif

/* The C name of an error number. */
static const char *error_name(int number) {
    switch (number) {
    case EPERM: return "EPERM";
    case ENOENT: return "ENOENT";
    case EBADF: return "EBADF";
    case EACCES: return "EACCES";
    case EEXIST: return "EEXIST";
    case ENOTDIR: return "ENOTDIR";
    case EISDIR: return "EISDIR";
    case EINVAL: return "EINVAL";
    case EAGAIN: return "EAGAIN";
    case ESPIPE: return "ESPIPE";
    case ENOTEMPTY: return "ENOTEMPTY";
    case ELOOP: return "ELOOP";
    case ERANGE: return "ERANGE";
    case EROFS: return "EROFS";
    case ENOSYS: return "ENOSYS";
    default: return "E?";
    }
}

/* Prints `what: ok` or `what: ENAME` for a call's result. */
static void report(const char *what, long result) {
    if (result < 0) {
        printf("%s: %s\n", what, error_name(errno));
    } else {
        printf("%s: ok\n", what);
    }
}

/* Prints `what: ENAME` for a call expected to fail, or `what: succeeded`. */
static void expect_error(const char *what, long result) {
    if (result < 0) {
        printf("%s: %s\n", what, error_name(errno));
    } else {
        printf("%s: succeeded\n", what);
    }
}

static const char *type_name(mode_t mode) {
    switch (mode & S_IFMT) {
    case S_IFREG: return "regular";
    case S_IFDIR: return "directory";
    case S_IFLNK: return "symlink";
    case S_IFIFO: return "fifo";
    case S_IFCHR: return "character";
    default: return "other";
    }
}

static const char *dirent_type(unsigned char type) {
    switch (type) {
    case DT_REG: return "regular";
    case DT_DIR: return "directory";
    case DT_LNK: return "symlink";
    default: return "other";
    }
}

static void print_stat(const char *what, const char *path, int follow) {
    struct stat st;
    int result = follow ? stat(path, &st) : lstat(path, &st);
    if (result < 0) {
        printf("%s: %s\n", what, error_name(errno));
        return;
    }
    if (S_ISDIR(st.st_mode)) {
        printf("%s: %s mode %o\n", what, type_name(st.st_mode), st.st_mode & 07777);
    } else {
        printf("%s: %s size %lld links %lu mode %o\n", what, type_name(st.st_mode),
               (long long)st.st_size, (unsigned long)st.st_nlink, st.st_mode & 07777);
    }
}

static int compare_strings(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Lists `path` (with `.` and `..`) sorted by name, with each entry's type. */
static void list(const char *path) {
    DIR *directory = opendir(path);
    if (directory == NULL) {
        printf("list %s: %s\n", path, error_name(errno));
        return;
    }
    char *names[64];
    int count = 0;
    struct dirent *entry;
    while ((entry = readdir(directory)) != NULL && count < 64) {
        char *line = malloc(300);
        snprintf(line, 300, "%s %s", entry->d_name, dirent_type(entry->d_type));
        names[count++] = line;
    }
    closedir(directory);
    qsort(names, count, sizeof names[0], compare_strings);
    printf("list %s:", path);
    for (int i = 0; i < count; i++) {
        printf(" [%s]", names[i]);
        free(names[i]);
    }
    printf("\n");
}

static void print_contents(const char *what, const char *path) {
    char buffer[256];
    int file = open(path, O_RDONLY);
    if (file < 0) {
        printf("%s: %s\n", what, error_name(errno));
        return;
    }
    ssize_t count = read(file, buffer, sizeof buffer - 1);
    close(file);
    if (count < 0) {
        printf("%s: %s\n", what, error_name(errno));
        return;
    }
    buffer[count] = '\0';
    printf("%s: \"%s\"\n", what, buffer);
}

static void files(void) {
    /* openat, O_CREAT, O_EXCL, write, lseek, read. */
    int file = open("data", O_RDWR | O_CREAT | O_EXCL, 0666);
    report("create data", file);
    report("write", write(file, "hello, world", 12));
    printf("lseek end: %ld\n", (long)lseek(file, 0, SEEK_END));
    printf("lseek set: %ld\n", (long)lseek(file, 7, SEEK_SET));
    char buffer[64] = {0};
    ssize_t got = read(file, buffer, sizeof buffer);
    printf("read: %ld \"%.*s\"\n", (long)got, 5, buffer);
    expect_error("create data again (O_EXCL)", open("data", O_RDWR | O_CREAT | O_EXCL, 0666));

    /* pread/pwrite leave the offset alone. */
    report("pwrite", pwrite(file, "HE", 2, 0));
    memset(buffer, 0, sizeof buffer);
    got = pread(file, buffer, 5, 0);
    printf("pread: %ld \"%s\"\n", (long)got, buffer);
    printf("offset after pread: %ld\n", (long)lseek(file, 0, SEEK_CUR));
    expect_error("pread at -1", pread(file, buffer, 1, -1));

    /* writev and readv. */
    struct iovec out[3] = {{"one ", 4}, {"two ", 4}, {"three", 5}};
    lseek(file, 0, SEEK_SET);
    printf("writev: %ld\n", (long)writev(file, out, 3));
    char first[6] = {0}, second[16] = {0};
    struct iovec in[2] = {{first, 5}, {second, 15}};
    lseek(file, 0, SEEK_SET);
    got = readv(file, in, 2);
    printf("readv: %ld \"%s\" \"%s\"\n", (long)got, first, second);

    /* fstat, newfstatat with AT_EMPTY_PATH, statx. */
    struct stat st;
    report("fstat", fstat(file, &st));
    printf("fstat: %s size %lld links %lu\n", type_name(st.st_mode), (long long)st.st_size,
           (unsigned long)st.st_nlink);
    report("fstatat empty path", fstatat(file, "", &st, AT_EMPTY_PATH));
    printf("fstatat empty path: size %lld\n", (long long)st.st_size);
    report("fstatat stdout", fstatat(1, "", &st, AT_EMPTY_PATH));
    expect_error("fstatat empty path without the flag", fstatat(file, "", &st, 0));
    struct statx extended;
    report("statx", statx(AT_FDCWD, "data", 0, STATX_BASIC_STATS, &extended));
    printf("statx: %s size %llu links %u\n", type_name(extended.stx_mode),
           (unsigned long long)extended.stx_size, extended.stx_nlink);

    /* ftruncate, down and up. */
    report("ftruncate 4", ftruncate(file, 4));
    fstat(file, &st);
    printf("size after ftruncate: %lld\n", (long long)st.st_size);
    report("ftruncate 5000", ftruncate(file, 5000));
    fstat(file, &st);
    memset(buffer, 'x', sizeof buffer);
    got = pread(file, buffer, 1, 4000);
    printf("size %lld, byte 4000: %d\n", (long long)st.st_size, got == 1 ? buffer[0] : -1);
    report("truncate", truncate("data", 3));
    print_stat("stat data", "data", 1);
    report("fsync", fsync(file));
    report("fdatasync", fdatasync(file));

    /* fcntl: FD_CLOEXEC, status flags, dup. */
    printf("F_GETFD: %d\n", fcntl(file, F_GETFD));
    report("F_SETFD", fcntl(file, F_SETFD, FD_CLOEXEC));
    printf("F_GETFD after F_SETFD: %d\n", fcntl(file, F_GETFD));
    int copy = fcntl(file, F_DUPFD_CLOEXEC, 20);
    int copy_flags = fcntl(copy, F_GETFD);
    printf("F_DUPFD_CLOEXEC from 20: %d, F_GETFD %d\n", copy, copy_flags);
    int plain = fcntl(file, F_DUPFD, 20);
    int plain_flags = fcntl(plain, F_GETFD);
    printf("F_DUPFD from 20: %d, F_GETFD %d\n", plain, plain_flags);
    int flags = fcntl(file, F_GETFL);
    printf("F_GETFL: access %s append %d\n",
           (flags & O_ACCMODE) == O_RDWR ? "rdwr" : "other", (flags & O_APPEND) != 0);
    report("F_SETFL O_APPEND", fcntl(file, F_SETFL, O_APPEND));
    printf("F_GETFL append: %d\n", (fcntl(file, F_GETFL) & O_APPEND) != 0);
    lseek(file, 0, SEEK_SET);
    write(file, "!", 1);
    fstat(file, &st);
    printf("size after append write: %lld\n", (long long)st.st_size);
    close(copy);
    close(plain);

    /* dup, dup2, dup3: descriptors share the offset, each its own flag. */
    printf("dup2 to 10: %d\n", dup2(file, 10));
    printf("dup2 to itself: %d\n", dup2(file, file) == file);
    int eleven = dup3(file, 11, O_CLOEXEC);
    printf("dup3 to 11 with O_CLOEXEC: %d, F_GETFD %d\n", eleven, fcntl(11, F_GETFD));
    printf("F_GETFD of 10: %d\n", fcntl(10, F_GETFD));
    expect_error("dup3 to itself", dup3(file, file, 0));
    lseek(10, 1, SEEK_SET);
    printf("offset shared through dup2: %ld\n", (long)lseek(file, 0, SEEK_CUR));
    int duplicate = dup(file);
    report("dup", duplicate);
    close(duplicate);
    close(10);
    close(11);
    report("close", close(file));
    expect_error("read closed descriptor", read(file, buffer, 1));
    expect_error("close closed descriptor", close(file));
    expect_error("lseek on closed descriptor", lseek(file, 0, SEEK_SET));

    /* O_TRUNC and O_APPEND. */
    file = open("data", O_WRONLY | O_TRUNC);
    report("open O_TRUNC", file);
    write(file, "abc", 3);
    close(file);
    file = open("data", O_WRONLY | O_APPEND);
    report("open O_APPEND", file);
    lseek(file, 0, SEEK_SET);
    write(file, "def", 3);
    close(file);
    print_contents("data after append", "data");

    /* sendfile between two files. */
    int source = open("data", O_RDONLY);
    int target = open("copy", O_WRONLY | O_CREAT | O_TRUNC, 0644);
    off_t offset = 1;
    ssize_t sent = sendfile(target, source, &offset, 100);
    printf("sendfile: %ld, offset now %ld\n", (long)sent, (long)offset);
    close(source);
    close(target);
    print_contents("copy", "copy");
    report("unlink copy", unlink("copy"));
}

static void directories(const char *expected_cwd) {
    /* mkdir, the errors around directories. */
    report("mkdir sub", mkdir("sub", 0755));
    expect_error("mkdir sub again", mkdir("sub", 0755));
    expect_error("open sub for writing", open("sub", O_WRONLY));
    expect_error("O_DIRECTORY on a file", open("data", O_RDONLY | O_DIRECTORY));
    expect_error("mkdir under a file", mkdir("data/x", 0755));
    expect_error("open missing", open("missing", O_RDONLY));
    expect_error("unlink missing", unlink("missing"));
    expect_error("stat missing", access("missing/deeper", F_OK));
    expect_error("rmdir a file", rmdir("data"));
    expect_error("unlink a directory", unlink("sub"));

    /* openat relative to a directory descriptor. */
    int directory = open("sub", O_RDONLY | O_DIRECTORY);
    report("open sub", directory);
    int file = openat(directory, "inner", O_WRONLY | O_CREAT, 0600);
    report("openat sub/inner", file);
    write(file, "inside", 6);
    close(file);
    print_contents("sub/inner", "sub/inner");
    struct stat st;
    report("fstatat sub/inner", fstatat(directory, "inner", &st, 0));
    printf("fstatat sub/inner: size %lld\n", (long long)st.st_size);
    expect_error("rmdir non-empty sub", rmdir("sub"));
    report("unlinkat inner", unlinkat(directory, "inner", 0));
    report("mkdirat deep", mkdirat(directory, "deep", 0700));
    report("unlinkat deep AT_REMOVEDIR", unlinkat(directory, "deep", AT_REMOVEDIR));
    expect_error("unlinkat bad flag", unlinkat(directory, "x", 0x4000));

    /* link, symlink, readlink, rename. */
    report("link data hard", link("data", "hard"));
    print_stat("stat data after link", "data", 1);
    report("symlink", symlink("data", "soft"));
    print_stat("lstat soft", "soft", 0);
    print_stat("stat soft", "soft", 1);
    char target[64] = {0};
    ssize_t length = readlink("soft", target, sizeof target);
    printf("readlink soft: %ld \"%.*s\"\n", (long)length, (int)(length > 0 ? length : 0), target);
    printf("readlink cut to 2: %ld\n", (long)readlink("soft", target, 2));
    expect_error("readlink a regular file", readlink("data", target, sizeof target));
    expect_error("readlink missing", readlink("missing", target, sizeof target));
    expect_error("open soft O_NOFOLLOW", open("soft", O_RDONLY | O_NOFOLLOW));
    report("rename hard renamed", rename("hard", "sub/renamed"));
    expect_error("stat hard after rename", access("hard", F_OK));
    print_stat("stat sub/renamed", "sub/renamed", 1);
    report("renameat back", renameat(directory, "renamed", AT_FDCWD, "hard"));
    expect_error("renameat2 unknown flag", renameat2(AT_FDCWD, "hard", AT_FDCWD, "data", 0x80));
    report("unlink hard", unlink("hard"));
    print_stat("stat data after unlink", "data", 1);

    /* getdents64 through readdir, sorted. */
    report("mkdir list", mkdir("list", 0755));
    close(open("list/b", O_WRONLY | O_CREAT, 0644));
    close(open("list/a", O_WRONLY | O_CREAT, 0644));
    mkdir("list/d", 0755);
    symlink("a", "list/c");
    list("list");
    expect_error("opendir a file", open("data", O_RDONLY | O_DIRECTORY));

    /* chdir, fchdir, getcwd. */
    char cwd[512];
    printf("getcwd matches: %d\n",
           getcwd(cwd, sizeof cwd) != NULL && strcmp(cwd, expected_cwd) == 0);
    expect_error("getcwd too small", getcwd(cwd, 2) == NULL ? -1 : 0);
    report("chdir sub", chdir("sub"));
    getcwd(cwd, sizeof cwd);
    size_t cwd_length = strlen(cwd);
    printf("getcwd ends with /files-test/sub: %d\n",
           cwd_length >= 15 && strcmp(cwd + cwd_length - 15, "/files-test/sub") == 0);
    report("chdir ..", chdir(".."));
    getcwd(cwd, sizeof cwd);
    printf("getcwd back: %d\n", strcmp(cwd, expected_cwd) == 0);
    report("fchdir sub", fchdir(directory));
    print_contents("after fchdir, ../data", "../data");
    report("chdir back", chdir(expected_cwd));
    expect_error("chdir to a file", chdir("data"));
    close(directory);

    /* utimensat: set, omit, now. */
    struct timespec times[2] = {{1000000000, 0}, {1234567890, 0}};
    report("utimensat", utimensat(AT_FDCWD, "data", times, 0));
    stat("data", &st);
    printf("times: atime %lld mtime %lld\n", (long long)st.st_atime, (long long)st.st_mtime);
    struct timespec omit_access[2] = {{0, UTIME_OMIT}, {1500000000, 0}};
    report("utimensat omit", utimensat(AT_FDCWD, "data", omit_access, 0));
    stat("data", &st);
    printf("times: atime %lld mtime %lld\n", (long long)st.st_atime, (long long)st.st_mtime);
    report("utimensat now", utimensat(AT_FDCWD, "data", NULL, 0));
    stat("data", &st);
    printf("mtime is recent: %d\n", st.st_mtime > 1600000000);
    file = open("data", O_RDWR);
    struct timespec by_descriptor[2] = {{1100000000, 0}, {1200000000, 0}};
    report("futimens", futimens(file, by_descriptor));
    fstat(file, &st);
    printf("times: atime %lld mtime %lld\n", (long long)st.st_atime, (long long)st.st_mtime);
    close(file);
    struct timespec bad[2] = {{0, 2000000000}, {0, 0}};
    expect_error("utimensat bad nanoseconds", utimensat(AT_FDCWD, "data", bad, 0));

    /* access. */
    report("access data F_OK", access("data", F_OK));
    report("access data R_OK|W_OK", access("data", R_OK | W_OK));
    expect_error("access data X_OK", access("data", X_OK));
    report("access sub X_OK", access("sub", X_OK));
    expect_error("access missing", access("missing", F_OK));
    expect_error("access bad mode", access("data", 8));
    report("faccessat", faccessat(AT_FDCWD, "data", R_OK, 0));

    /* chmod, fchmod, fchown, umask. */
    report("chmod 600", chmod("data", 0600));
    print_stat("stat data after chmod", "data", 1);
    file = open("data", O_RDWR);
    report("fchmod 640", fchmod(file, 0640));
    print_stat("stat data after fchmod", "data", 1);
    report("fchown to itself", fchown(file, geteuid(), getegid()));
    close(file);
    umask(022);
    printf("umask: previous %o\n", umask(077));
    close(open("masked", O_WRONLY | O_CREAT, 0666));
    mkdir("masked-dir", 0777);
    print_stat("stat masked", "masked", 1);
    print_stat("stat masked-dir", "masked-dir", 1);
    printf("umask: previous %o\n", umask(022));
    unlink("masked");
    rmdir("masked-dir");
}

static void pipes(void) {
    int ends[2];
    report("pipe2 O_CLOEXEC", pipe2(ends, O_CLOEXEC));
    printf("pipe F_GETFD: %d %d\n", fcntl(ends[0], F_GETFD), fcntl(ends[1], F_GETFD));
    struct stat st;
    fstat(ends[0], &st);
    printf("pipe is a %s\n", type_name(st.st_mode));
    expect_error("lseek on a pipe", lseek(ends[0], 0, SEEK_SET));
    struct pollfd poll_read = {ends[0], POLLIN, 0};
    printf("poll empty pipe: %d\n", poll(&poll_read, 1, 0));
    printf("poll empty pipe, 50 ms: %d\n", poll(&poll_read, 1, 50));
    struct pollfd poll_write = {ends[1], POLLOUT, 0};
    int ready = poll(&poll_write, 1, -1);
    printf("poll write end: %d revents %#x\n", ready, poll_write.revents);
    write(ends[1], "ping", 4);
    ready = poll(&poll_read, 1, -1);
    printf("poll after write: %d revents %#x\n", ready, poll_read.revents);
    char buffer[8] = {0};
    ssize_t count = read(ends[0], buffer, sizeof buffer - 1);
    printf("read pipe: %ld \"%s\"\n", (long)count, buffer);
    struct timespec short_wait = {0, 20000000};
    printf("ppoll empty pipe: %d\n", ppoll(&poll_read, 1, &short_wait, NULL));
    close(ends[1]);
    ready = poll(&poll_read, 1, -1);
    printf("poll after close: %d revents %#x\n", ready, poll_read.revents);
    printf("read at end: %ld\n", (long)read(ends[0], buffer, sizeof buffer));
    close(ends[0]);
    struct pollfd closed = {ends[0], POLLIN, 0};
    ready = poll(&closed, 1, 0);
    printf("poll closed descriptor: %d revents %#x\n", ready, closed.revents);
}

/* O_NONBLOCK on pipes: EAGAIN instead of waiting, F_GETFL and F_SETFL,
 * poll of a full pipe, the flag shared by a duplicate. */
static void nonblocking_pipes(void) {
    static char block[100000];
    int ends[2];
    report("pipe2 O_NONBLOCK", pipe2(ends, O_NONBLOCK | O_CLOEXEC));
    printf("O_NONBLOCK in F_GETFL: read end %d, write end %d\n",
           (fcntl(ends[0], F_GETFL) & O_NONBLOCK) != 0, (fcntl(ends[1], F_GETFL) & O_NONBLOCK) != 0);
    expect_error("read empty non-blocking pipe", read(ends[0], block, 1));
    memset(block, 'z', sizeof block);
    ssize_t wrote = write(ends[1], block, sizeof block);
    printf("write 100000 bytes: took the pipe's size %d\n",
           wrote == fcntl(ends[1], F_GETPIPE_SZ));
    expect_error("write to a full non-blocking pipe", write(ends[1], "x", 1));
    struct pollfd poll_write = {ends[1], POLLOUT, 0};
    printf("poll full pipe for writing: %d\n", poll(&poll_write, 1, 0));
    struct pollfd poll_read = {ends[0], POLLIN, 0};
    int ready = poll(&poll_read, 1, 0);
    printf("poll full pipe for reading: %d revents %#x\n", ready, poll_read.revents);
    ssize_t count = read(ends[0], block, sizeof block);
    printf("read it all: %d\n", count == wrote);
    expect_error("read emptied non-blocking pipe", read(ends[0], block, 1));
    report("write 3 bytes", write(ends[1], "abc", 3));
    printf("read 3 bytes: %ld\n", (long)read(ends[0], block, 10));
    int copy = dup(ends[0]);
    report("F_SETFL 0 on a duplicate", fcntl(copy, F_SETFL, 0));
    printf("O_NONBLOCK in F_GETFL: read end %d, write end %d\n",
           (fcntl(ends[0], F_GETFL) & O_NONBLOCK) != 0, (fcntl(ends[1], F_GETFL) & O_NONBLOCK) != 0);
    close(ends[1]);
    printf("blocking read without writers: %ld\n", (long)read(ends[0], block, 1));
    close(ends[0]);
    close(copy);
    report("pipe", pipe(ends));
    report("F_SETFL O_NONBLOCK", fcntl(ends[0], F_SETFL, O_NONBLOCK));
    printf("F_GETFL of the read end: O_NONBLOCK %d\n", (fcntl(ends[0], F_GETFL) & O_NONBLOCK) != 0);
    expect_error("read empty pipe after F_SETFL", read(ends[0], block, 1));
    close(ends[1]);
    printf("non-blocking read without writers: %ld\n", (long)read(ends[0], block, 1));
    close(ends[0]);
}

static void the_rest(void) {
    struct timespec nap = {0, 10000000};
    report("nanosleep", nanosleep(&nap, NULL));
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    now.tv_nsec += 10000000;
    if (now.tv_nsec >= 1000000000) {
        now.tv_sec += 1;
        now.tv_nsec -= 1000000000;
    }
    printf("clock_nanosleep absolute: %d\n",
           clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &now, NULL));
    report("sched_yield", sched_yield());
    struct sysinfo info;
    report("sysinfo", sysinfo(&info));
    printf("sysinfo: processes %d, memory %d\n", info.procs >= 1,
           info.totalram * info.mem_unit > 0);
    report("prctl PR_SET_NAME", prctl(PR_SET_NAME, "files-test", 0, 0, 0));
    char name[17] = {0};
    report("prctl PR_GET_NAME", prctl(PR_GET_NAME, name, 0, 0, 0));
    printf("name: %s\n", name);
    report("sync", (sync(), 0));
    /* glibc and busybox look at /proc/self/exe: Manux has no /proc, so
     * there it must fail cleanly (ENOENT); on Linux it names the program. */
    struct utsname system;
    uname(&system);
    int on_manux = strstr(system.release, "-manux") != NULL;
    char exe[256];
    ssize_t exe_length = readlink("/proc/self/exe", exe, sizeof exe);
    int as_expected = on_manux ? exe_length < 0 && errno == ENOENT : exe_length > 0;
    printf("readlink /proc/self/exe as expected here: %d\n", as_expected);
}

int main(int argc, char **argv) {
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (argc != 2) {
        printf("usage: files DIRECTORY\n");
        return 2;
    }
    char base[400];
    snprintf(base, sizeof base, "%s/files-test", argv[1]);
    printf("linux files: start\n");
    report("mkdir files-test", mkdir(base, 0755));
    report("chdir files-test", chdir(base));
    files();
    directories(base);
    pipes();
    nonblocking_pipes();
    the_rest();
    /* Clean up, so the directory is as it was. */
    unlink("list/a");
    unlink("list/b");
    unlink("list/c");
    rmdir("list/d");
    report("rmdir list", rmdir("list"));
    report("unlink soft", unlink("soft"));
    report("unlink data", unlink("data"));
    report("rmdir sub", rmdir("sub"));
    report("chdir argument", chdir(argv[1]));
    report("rmdir files-test", rmdir("files-test"));
    printf("linux files: done\n");
    return 0;
}
