/* torture.c — host programs that stress the shim's process lifecycle:
 * thread churn under snapshot storms, signals during fork and thread exit,
 * fork from many threads, exec chains, spawn/system/daemon/vfork, dlopen of
 * thread-starting libraries, exit paths and tid reuse. Modes that wait on
 * syscalls (cancellation, EINTR, timeouts, error paths, signal handlers)
 * live in torture_waits.c. tests/torture/run.py runs every mode plain and
 * under build/libleakwatch.so and compares what the program observes.
 *
 * Output: deterministic lines only ("pid=N" is normalised by run.py), so
 * the plain run and the leakwatch run must print the same thing.
 * Must never: rely on timing for its printed result, or send the snapshot
 * signal when leakwatch is absent (it would kill the plain run).
 */
#define _GNU_SOURCE
#include "torture.h"

#include <dirent.h>
#include <dlfcn.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdatomic.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>

extern char **environ;
static const char *self_exe;

/* ---- a SIGUSR2 storm, only when leakwatch handles SIGUSR2 ---- */

static atomic_int storm_stop;
static pthread_t storm_thr;
static int storm_on;

static void *storm_main(void *arg)
{
    (void)arg;
    while (!atomic_load(&storm_stop)) {
        kill(getpid(), SIGUSR2);
        usleep(300);
    }
    return NULL;
}

static void storm_start(void)
{
    storm_on = leakwatch_active();
    if (storm_on)
        pthread_create(&storm_thr, NULL, storm_main, NULL);
}

static void storm_end(void)
{
    atomic_store(&storm_stop, 1);
    if (storm_on)
        pthread_join(storm_thr, NULL);
}

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* ---- churn MS: create/join/detach for MS ms under the storm ---- */

static void *nop_main(void *arg) { return arg; }

static void *churner(void *arg)
{
    uint64_t until = *(uint64_t *)arg;
    long n = 0;
    while (now_ms() < until) {
        pthread_t t[8];
        for (int i = 0; i < 8; i++)
            if (pthread_create(&t[i], NULL, nop_main, (void *)(long)i) != 0)
                return (void *)-1L;
        for (int i = 0; i < 8; i++) {
            if (i & 1) {
                pthread_detach(t[i]);
            } else {
                void *r;
                pthread_join(t[i], &r);
                if ((long)r != i)
                    return (void *)-2L;
            }
        }
        n += 8;
    }
    return (void *)n;
}

static int mode_churn(int ms)
{
    uint64_t until = now_ms() + (uint64_t)ms;
    storm_start();
    pthread_t c[3];
    for (int i = 0; i < 3; i++)
        pthread_create(&c[i], NULL, churner, &until);
    int bad = 0;
    for (int i = 0; i < 3; i++) {
        void *r;
        pthread_join(c[i], &r);
        bad |= (long)r <= 0;
    }
    storm_end();
    printf("churn %s\n", bad ? "FAILED" : "ok");
    return bad;
}

/* ---- sigfork N: fork N times while SIGUSR2 storms ---- */

static int mode_sigfork(int n, const char *dir)
{
    storm_start();
    int bad = 0;
    for (int i = 0; i < n; i++) {
        pid_t p = fork();
        if (p == 0) {
            /* the child's registry must work: create and join */
            pthread_t t;
            void *r = NULL;
            int ok = pthread_create(&t, NULL, nop_main, (void *)7L) == 0 &&
                     pthread_join(t, &r) == 0 && r == (void *)7L;
            if (ok && dir && i % 10 == 0) {
                char path[4096];
                snprintf(path, sizeof path, "%s/child-%d.json", dir, i);
                if (leakwatch_active() && leakwatch_snapshot(path) != 0)
                    ok = 0;
            }
            _exit(ok ? 7 : 1);
        }
        int st = 0;
        if (p < 0 || waitpid(p, &st, 0) != p || !WIFEXITED(st) || WEXITSTATUS(st) != 7)
            bad++;
    }
    storm_end();
    printf("sigfork %d children, %d bad\n", n, bad);
    return bad != 0;
}

/* ---- sigexit N: snapshot signals aimed at threads while they exit ---- */

static void *quick_main(void *arg)
{
    atomic_store((atomic_int *)arg, (int)syscall(SYS_gettid));
    return NULL;
}

/* leakwatch's writer thread asleep in its wait (a futex; ppoll if it also
 * waits on a descriptor): no request is pending and no snapshot is being
 * written (a request would have woken it) */
static int writer_idle(void)
{
    DIR *d = opendir("/proc/self/task");
    struct dirent *e;
    int idle = 0;
    while (d && !idle && (e = readdir(d)) != NULL) {
        char buf[128];
        int tid = atoi(e->d_name);
        if (tid <= 0 || !read_task_file(tid, "comm", buf, sizeof buf) ||
            strcmp(buf, "leakwatch\n") != 0)
            continue;
        idle = read_task_file(tid, "syscall", buf, sizeof buf) &&
               (atol(buf) == SYS_futex || atol(buf) == SYS_ppoll);
    }
    if (d)
        closedir(d);
    return idle;
}

static int mode_sigexit(int n)
{
    int lw = leakwatch_active(), hits = 0;
    for (int i = 0; i < n; i++) {
        atomic_int tid = 0;
        pthread_t t;
        if (pthread_create(&t, NULL, quick_main, &tid) != 0)
            return 1;
        while (pthread_tryjoin_np(t, NULL) == EBUSY) {
            int k = atomic_load(&tid);
            if (lw && k && syscall(SYS_tgkill, getpid(), k, SIGUSR2) == 0)
                hits++;
        }
    }
    /* A thread on its way out still accepts tgkill but often runs no
     * handler (plain: 1,500 sent, 0 handled in half the runs), so the
     * storm may take no snapshot at all (1 run in 25 failed). One more
     * signal, at the process (handled before kill returns), and wait
     * until the writer has written it and gone idle: the snapshot signal
     * still works after the storm, and no snapshot races the exit. */
    if (lw) {
        kill(getpid(), SIGUSR2);
        for (int k = 0; k < 10000 && !writer_idle(); k++)
            usleep(1000);
    }
    printf("sigexit %d rounds ok\n", n);
    (void)hits;
    return 0;
}

/* ---- forkmt DIR: fork from 8 blocked threads; the child snapshots ---- */

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static int released;

static void *parked_main(void *arg)
{
    pthread_mutex_lock(&mu);
    while (!released)
        pthread_cond_wait(&cv, &mu);
    pthread_mutex_unlock(&mu);
    return arg;
}

static void *reader_main(void *arg)
{
    char c;
    ssize_t r = read((int)(long)arg, &c, 1);
    return (void *)r;
}

static int mode_forkmt(const char *dir)
{
    pthread_t t[8];
    for (int i = 0; i < 8; i++)
        pthread_create(&t[i], NULL, parked_main, NULL);
    pid_t p = fork();
    if (p == 0) {
        int fds[2];
        pthread_t a, b;
        if (pipe(fds) != 0)
            _exit(3);
        pthread_create(&a, NULL, nop_main, NULL);
        pthread_join(a, NULL);
        pthread_create(&b, NULL, reader_main, (void *)(long)fds[0]);
        usleep(20000);
        char path[4096];
        snprintf(path, sizeof path, "%s/child.json", dir);
        int r = leakwatch_active() ? leakwatch_snapshot(path) : 0;
        if (write(fds[1], "x", 1) != 1)
            _exit(4);
        pthread_join(b, NULL);
        printf("child pid=%d snapshot %d\n", (int)getpid(), r);
        fflush(stdout);
        _exit(r == 0 ? 0 : 5);
    }
    int st = 0;
    waitpid(p, &st, 0);
    pthread_mutex_lock(&mu);
    released = 1;
    pthread_cond_broadcast(&cv);
    pthread_mutex_unlock(&mu);
    for (int i = 0; i < 8; i++)
        pthread_join(t[i], NULL);
    printf("forkmt child status %d\n", WIFEXITED(st) ? WEXITSTATUS(st) : -1);
    return 0;
}

/* ---- execchain N: each level forks a child that execs level N-1 ---- */

static int mode_execchain(int n)
{
    /* a thread alive across the fork+exec: must not confuse the child */
    pthread_t t;
    pthread_create(&t, NULL, parked_main, NULL);
    int rc = 0;
    if (n > 0) {
        pid_t p = fork();
        if (p == 0) {
            char lvl[16];
            snprintf(lvl, sizeof lvl, "%d", n - 1);
            execl(self_exe, self_exe, "execchain", lvl, (char *)NULL);
            _exit(127);
        }
        int st = 0;
        waitpid(p, &st, 0);
        rc = WIFEXITED(st) ? WEXITSTATUS(st) : 100;
        printf("level %d: child exited %d\n", n, rc);
    } else {
        printf("level 0: leaf\n");
    }
    pthread_mutex_lock(&mu);
    released = 1;
    pthread_cond_broadcast(&cv);
    pthread_mutex_unlock(&mu);
    pthread_join(t, NULL);
    fflush(stdout);
    /* the status encodes the level, so a broken link shows at the top */
    return n == 0 ? 10 : rc == 10 + n - 1 ? 10 + n : 99;
}

/* ---- spawn: posix_spawn, system, vfork ---- */

static int status_of(int st)
{
    return WIFEXITED(st) ? WEXITSTATUS(st) : WIFSIGNALED(st) ? 128 + WTERMSIG(st) : -1;
}

static int mode_spawn(void)
{
    pid_t p;
    int st;
    char *sh3[] = {"sh", "-c", "exit 3", NULL};
    int r = posix_spawn(&p, "/bin/sh", NULL, NULL, sh3, environ);
    waitpid(p, &st, 0);
    printf("posix_spawn: %d status %d\n", r, status_of(st));
    char *tr[] = {"true", NULL};
    r = posix_spawnp(&p, "true", NULL, NULL, tr, environ);
    waitpid(p, &st, 0);
    printf("posix_spawnp: %d status %d\n", r, status_of(st));
    char *bad[] = {"nope", NULL};
    r = posix_spawn(&p, "/nonexistent/nope", NULL, NULL, bad, environ);
    if (r == 0)
        waitpid(p, &st, 0);
    printf("posix_spawn missing: %s\n", r ? strerrorname_np(r) : "0 (child 127)");
    printf("system exit 5: %d\n", status_of(system("exit 5")));
    printf("system kill TERM: %d\n", status_of(system("kill -TERM $$")));
    printf("system(NULL): %d\n", system(NULL) != 0);
    p = vfork();
    if (p == 0)
        _exit(4);
    waitpid(p, &st, 0);
    printf("vfork _exit: %d\n", status_of(st));
    p = vfork();
    if (p == 0) {
        execl("/bin/sh", "sh", "-c", "exit 6", (char *)NULL);
        _exit(127);
    }
    waitpid(p, &st, 0);
    printf("vfork exec: %d\n", status_of(st));
    return 0;
}

/* ---- daemon MARKER: the daemon writes MARKER and exits ---- */

static int mode_daemon(const char *marker)
{
    pthread_t t;
    pthread_create(&t, NULL, nop_main, NULL);
    pthread_join(t, NULL);
    if (daemon(1, 1) != 0)
        return 2;
    /* only the daemon gets here; its parent _exit(0)ed inside daemon() */
    pthread_create(&t, NULL, nop_main, NULL);
    pthread_join(t, NULL);
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s.tmp", marker);
    FILE *f = fopen(tmp, "w");
    if (!f)
        return 3;
    fprintf(f, "%d\n", (int)getpid());
    fclose(f);
    rename(tmp, marker);
    return 0;
}

/* ---- dlopen LIB N: a library whose constructor starts threads ---- */

static int mode_dlopen(const char *lib, int n, const char *snap)
{
    int ok = 0;
    for (int i = 0; i < n; i++) {
        void *h = dlopen(lib, RTLD_NOW | RTLD_LOCAL);
        if (!h) {
            printf("dlopen: %s\n", dlerror());
            return 1;
        }
        int (*ping)(void) = (int (*)(void))dlsym(h, "torture_dl_ping");
        ok += ping && ping() == 42;
        dlclose(h);
        void *again = dlopen(lib, RTLD_NOW | RTLD_NOLOAD);
        if (again) {
            printf("round %d: still loaded after dlclose\n", i);
            dlclose(again);
        }
    }
    if (snap && leakwatch_active() && leakwatch_snapshot(snap) != 0)
        return 2;
    printf("dlopen %d/%d pings\n", ok, n);
    return 0;
}

/* ---- atexit: threads created from atexit handlers ---- */

static void *sum_main(void *arg)
{
    long n = (long)arg, s = 0;
    for (long i = 1; i <= n; i++)
        s += i;
    return (void *)s;
}

static void *sleeper_main(void *arg)
{
    (void)arg;
    for (;;)
        pause();
    return NULL;
}

static void at_join(void)
{
    pthread_t t;
    void *r = NULL;
    int rc = pthread_create(&t, NULL, sum_main, (void *)100L);
    if (rc == 0)
        pthread_join(t, &r);
    printf("atexit thread: rc %d sum %ld\n", rc, (long)r);
    fflush(stdout);
}

static void at_detach(void)
{
    pthread_t t;
    int rc = pthread_create(&t, NULL, sleeper_main, NULL);
    if (rc == 0)
        pthread_detach(t);
    printf("atexit detached: rc %d\n", rc);
    fflush(stdout);
}

static int mode_atexit(void)
{
    atexit(at_join);
    atexit(at_detach);
    printf("main returns\n");
    return 0;
}

/* ---- exit paths while threads run ---- */

static void *busy_main(void *arg)
{
    (void)arg;
    int fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
    for (;;) {
        pthread_t t;
        if (pthread_create(&t, NULL, nop_main, NULL) == 0)
            pthread_join(t, NULL);
        pthread_mutex_lock(&mu);
        void *p = malloc(64);
        pthread_mutex_unlock(&mu);
        free(p);
        if (write(fd, "x", 1) < 0)
            break;
        struct timespec ts = {0, 10000};
        nanosleep(&ts, NULL);
    }
    return NULL;
}

static void at_quick(void)
{
    printf("at_quick_exit ran\n");
    fflush(stdout);
}

static void *exiter_main(void *arg)
{
    const char *how = arg;
    usleep(30000);
    fflush(stdout);
    if (strcmp(how, "exit") == 0)
        exit(4);
    if (strcmp(how, "quick_exit") == 0)
        quick_exit(3);
    if (strcmp(how, "_exit") == 0)
        _exit(9);
    abort();
}

static int mode_exitpath(const char *how)
{
    at_quick_exit(at_quick);
    pthread_t t[5];
    for (int i = 0; i < 4; i++)
        pthread_create(&t[i], NULL, busy_main, NULL);
    printf("exiting via %s\n", how);
    fflush(stdout);
    if (strcmp(how, "exit-main") == 0) {
        usleep(30000);
        exit(4);
    }
    pthread_create(&t[4], NULL, exiter_main, (void *)how);
    for (;;)
        pause();
}

/* ---- mainexit: main calls pthread_exit; glibc ends the process with
 * exit(0) when the last other thread is done (its atexit handlers run).
 * A late thread is started after main is gone. ---- */

static void *late_main(void *arg)
{
    (void)arg;
    usleep(80000);
    printf("late thread done\n");
    return NULL;
}

static void *mainexit_worker(void *arg)
{
    long i = (long)arg;
    usleep((useconds_t)(30000 * (i + 1)));
    if (i == 0) {
        pthread_t t;
        pthread_create(&t, NULL, late_main, NULL);
        pthread_detach(t);
    }
    printf("worker %ld done\n", i);
    return NULL;
}

static void at_mainexit(void)
{
    printf("atexit handler ran\n");
}

static int mode_mainexit(void)
{
    atexit(at_mainexit);
    pthread_t t[2];
    for (long i = 0; i < 2; i++)
        pthread_create(&t[i], NULL, mainexit_worker, (void *)i);
    pthread_detach(t[1]);
    printf("main leaves\n");
    pthread_exit(NULL);
}

/* ---- tidreuse DIR: a new thread gets a dead thread's tid (needs a pid
 * namespace of our own: run.py runs it under unshare -Urp --fork) ---- */

static void *tid_main(void *arg)
{
    *(int *)arg = (int)syscall(SYS_gettid);
    return NULL;
}

static void *tid_park(void *arg)
{
    *(int *)arg = (int)syscall(SYS_gettid);
    return parked_main(NULL);
}

static int set_last_pid(int v)
{
    int fd = open("/proc/sys/kernel/ns_last_pid", O_WRONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    char b[32];
    int n = snprintf(b, sizeof b, "%d", v);
    int r = write(fd, b, (size_t)n) == n ? 0 : -1;
    close(fd);
    return r;
}

static int mode_tidreuse(const char *dir)
{
    int a = 0, b = 0;
    pthread_t t;
    pthread_create(&t, NULL, tid_main, &a);
    pthread_join(t, NULL);
    pthread_create(&t, NULL, tid_main, &b); /* detached: record kept as exited */
    pthread_detach(t);
    usleep(20000);
    int reused_a = set_last_pid(a - 1) == 0;
    pthread_t pa, pb;
    int ta = 0, tb = 0;
    pthread_create(&pa, NULL, tid_park, &ta);
    usleep(5000);
    int reused_b = set_last_pid(b - 1) == 0;
    pthread_create(&pb, NULL, tid_park, &tb);
    usleep(20000);
    if (!reused_a || !reused_b) {
        printf("tidreuse: cannot write ns_last_pid\n");
    } else {
        printf("tidreuse: joined tid reused %d, detached tid reused %d\n", ta == a, tb == b);
        printf("tids pid=%d pid=%d\n", ta, tb);
    }
    char path[4096];
    snprintf(path, sizeof path, "%s/tidreuse.json", dir);
    if (leakwatch_active() && leakwatch_snapshot(path) != 0)
        printf("snapshot failed\n");
    pthread_mutex_lock(&mu);
    released = 1;
    pthread_cond_broadcast(&cv);
    pthread_mutex_unlock(&mu);
    pthread_join(pa, NULL);
    pthread_join(pb, NULL);
    return 0;
}

int main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    self_exe = argv[0];
    if (argc < 2) {
        fprintf(stderr, "usage: torture MODE [ARGS]\n");
        return 2;
    }
    const char *m = argv[1];
    const char *a2 = argc > 2 ? argv[2] : NULL, *a3 = argc > 3 ? argv[3] : NULL;
    if (!strcmp(m, "churn") && a2)
        return mode_churn(atoi(a2));
    if (!strcmp(m, "sigfork") && a2)
        return mode_sigfork(atoi(a2), a3);
    if (!strcmp(m, "sigexit") && a2)
        return mode_sigexit(atoi(a2));
    if (!strcmp(m, "forkmt") && a2)
        return mode_forkmt(a2);
    if (!strcmp(m, "execchain") && a2)
        return mode_execchain(atoi(a2));
    if (!strcmp(m, "spawn"))
        return mode_spawn();
    if (!strcmp(m, "daemon") && a2)
        return mode_daemon(a2);
    if (!strcmp(m, "dlopen") && a2 && a3)
        return mode_dlopen(a2, atoi(a3), argc > 4 ? argv[4] : NULL);
    if (!strcmp(m, "atexit"))
        return mode_atexit();
    if (!strcmp(m, "exitpath") && a2)
        return mode_exitpath(a2);
    if (!strcmp(m, "mainexit"))
        return mode_mainexit();
    if (!strcmp(m, "tidreuse") && a2)
        return mode_tidreuse(a2);
    return torture_waits_main(argc, argv);
}
