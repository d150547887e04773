/* SPDX-License-Identifier: MIT OR Apache-2.0 */
/* The escape suite's main techniques as a Linux program, for Manux's
 * guest tests (tests/tests/linux_programs.rs): launched confined from the
 * shell in the user's home, where `secret.txt` holds a secret it is not
 * handed, as `linux-escape -w WORK FILE` (WORK a directory handed
 * read-write, FILE a file handed read-only), it tries to reach the secret
 * (or to move what it was handed out of its place) with Linux calls. One
 * line per technique, `blocked: NAME` or `ESCAPED: NAME (how)` (and
 * `note: …` lines saying what was tried); the secret is never printed. Exit status 0 only if all were blocked. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

static int escaped_count;

/* Whether `path` (relative to `directory`) opens and holds the secret. */
static int secret_at(int directory, const char *path) {
    int file = openat(directory, path, O_RDONLY);
    if (file < 0) {
        return 0;
    }
    char buffer[256];
    ssize_t count = read(file, buffer, sizeof buffer - 1);
    close(file);
    if (count <= 0) {
        return 0;
    }
    buffer[count] = '\0';
    return strstr(buffer, "TOPSECRET") != NULL;
}

/* Prints the outcome of technique `name`: `how` is NULL when blocked. */
static void outcome(const char *name, const char *how) {
    if (how == NULL) {
        printf("blocked: %s\n", name);
    } else {
        printf("ESCAPED: %s (%s)\n", name, how);
        escaped_count++;
    }
}

/* The spellings of the secret from the starting directory. */
static const char *const SPELLINGS[] = {
    "secret.txt",
    "../user/secret.txt",
    "../../home/user/secret.txt",
    "../../../../../../home/user/secret.txt",
    "/home/user/secret.txt",
    "/../../home/user/secret.txt",
    "/.../home/user/secret.txt",
    "/.../../home/user/secret.txt",
    "/proc/self/root/home/user/secret.txt",
    "/proc/self/cwd/secret.txt",
    "/proc/1/root/home/user/secret.txt",
};

static const char *first_spelling_that_works(int directory) {
    for (size_t i = 0; i < sizeof SPELLINGS / sizeof SPELLINGS[0]; i++) {
        if (secret_at(directory, SPELLINGS[i])) {
            return SPELLINGS[i];
        }
    }
    return NULL;
}

int main(int argc, char **argv) {
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (argc == 2 && strcmp(argv[1], "--dropped") == 0) {
        printf("the dropped copy ran\n");
        return 66;
    }
    if (argc != 4 || strcmp(argv[1], "-w") != 0) {
        printf("usage: escape -w WORK FILE\n");
        return 2;
    }
    const char *work = argv[2];
    const char *handed = argv[3];
    char path[512];
    int start = open(".", O_RDONLY | O_DIRECTORY);

    /* Names: `..`, absolute paths, `/...`, /proc/self. */
    outcome("paths", first_spelling_that_works(AT_FDCWD));

    /* chdir("..") as far as it goes, then every spelling. */
    for (int i = 0; i < 16; i++) {
        chdir("..");
    }
    const char *how = first_spelling_that_works(AT_FDCWD);
    if (how == NULL && secret_at(AT_FDCWD, "home/user/secret.txt")) {
        how = "home/user/secret.txt after chdir ..";
    }
    outcome("chdir-dotdot", how);
    fchdir(start);

    /* A directory descriptor of the handed directory, climbed with
     * openat(fd, "..") and fchdir. */
    int directory = open(work, O_RDONLY | O_DIRECTORY);
    how = NULL;
    if (directory >= 0) {
        if (secret_at(directory, "../secret.txt")) {
            how = "openat(WORK, ../secret.txt)";
        }
        int climbing = dup(directory);
        for (int i = 0; i < 16 && how == NULL; i++) {
            int up = openat(climbing, "..", O_RDONLY | O_DIRECTORY);
            if (up < 0) {
                break;
            }
            close(climbing);
            climbing = up;
            if (secret_at(climbing, "secret.txt") ||
                secret_at(climbing, "home/user/secret.txt")) {
                how = "openat(.., …) climbing from WORK";
            }
        }
        if (how == NULL && fchdir(climbing) == 0 &&
            (secret_at(AT_FDCWD, "secret.txt") ||
             secret_at(AT_FDCWD, "home/user/secret.txt"))) {
            how = "fchdir to the climbed descriptor";
        }
        close(climbing);
    }
    outcome("directory-fd-climb", how);
    fchdir(start);

    /* Symbolic links made in the handed directory, pointing out. */
    static const char *const TARGETS[] = {"../secret.txt", "/home/user/secret.txt",
                                          "/.../home/user/secret.txt",
                                          "../../../home/user/secret.txt"};
    how = NULL;
    for (size_t i = 0; i < sizeof TARGETS / sizeof TARGETS[0] && how == NULL; i++) {
        snprintf(path, sizeof path, "%s/link%zu", work, i);
        unlink(path);
        if (symlink(TARGETS[i], path) == 0 && secret_at(AT_FDCWD, path)) {
            how = TARGETS[i];
        }
        unlink(path);
    }
    outcome("symlinks", how);

    /* The handed read-only file: hard-linked or renamed out of its place
     * (into the writable directory, or outside), or opened for writing
     * through a new name. */
    how = NULL;
    snprintf(path, sizeof path, "%s/hard", work);
    int linked = linkat(AT_FDCWD, handed, AT_FDCWD, path, 0);
    printf("note: move-handed-file: linkat into WORK: %s\n", linked == 0 ? "ok" : strerror(errno));
    if (linked == 0) {
        int writable = open(path, O_WRONLY);
        if (writable >= 0) {
            how = "linkat into WORK, then writable";
            close(writable);
        }
        unlink(path);
    }
    if (how == NULL && linkat(AT_FDCWD, handed, AT_FDCWD, "/home/user/stolen", 0) == 0) {
        how = "linkat to /home/user/stolen";
    }
    snprintf(path, sizeof path, "%s/moved", work);
    if (how == NULL && renameat(AT_FDCWD, handed, AT_FDCWD, path) == 0) {
        how = "renameat into WORK";
        renameat(AT_FDCWD, path, AT_FDCWD, handed);
    }
    if (how == NULL && open(handed, O_WRONLY) >= 0) {
        how = "the handed file opened for writing";
    }
    outcome("move-handed-file", how);

    /* A copy of this program written in the handed directory, run. */
    how = NULL;
    snprintf(path, sizeof path, "%s/dropped", work);
    /* Its own file: argv[0], or /bin/NAME for a bare name (as the shell
     * passes it: its own root holds bin/NAME). */
    char own[300];
    snprintf(own, sizeof own, "%s%s", strchr(argv[0], '/') ? "" : "/bin/", argv[0]);
    int source = open(own, O_RDONLY);
    int copy = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0755);
    long copied = 0;
    if (source >= 0 && copy >= 0) {
        char buffer[4096];
        ssize_t count;
        while ((count = read(source, buffer, sizeof buffer)) > 0) {
            copied += write(copy, buffer, count);
        }
    }
    printf("note: exec-dropped: %s: %s, copied %ld bytes\n", own,
           source >= 0 ? "read" : strerror(errno), copied);
    if (source >= 0) {
        close(source);
    }
    if (copy >= 0) {
        close(copy);
        chmod(path, 0755);
        char *arguments[] = {path, "--dropped", NULL};
        pid_t pid;
        fflush(stdout);
        int error = posix_spawn(&pid, path, NULL, NULL, arguments, environ);
        printf("note: exec-dropped: posix_spawn: %s\n", error == 0 ? "ok" : strerror(error));
        if (error == 0) {
            int status = 0;
            waitpid(pid, &status, 0);
            if (WIFEXITED(status) && WEXITSTATUS(status) == 66) {
                how = "execve of the dropped copy";
            }
        }
        unlink(path);
    }
    outcome("exec-dropped", how);

    printf("linux escape: %d escaped\n", escaped_count);
    return escaped_count == 0 ? 0 : 1;
}
