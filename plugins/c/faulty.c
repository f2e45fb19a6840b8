/*
 * Test-only module "faulty" (BH_THREAD_SAFE): misbehaves on request so the
 * host's defences can be proven. Never ship it to users.
 *
 * Method          input                        behaviour / output
 * --------------- ---------------------------- ------------------------------------------
 * ok              any                          echoes the input
 * segfault        ignored                      stores through a NULL pointer (SIGSEGV)
 * abort           ignored                      abort() (SIGABRT)
 * hang            ignored                      sleeps forever
 * exit            ignored                      _exit(3)
 * leak            [u32 LE MiB, default 64]     mallocs that many MiB in 1 MiB blocks,
 *                                              touches every page, never frees; output
 *                                              u32 LE MiB leaked; malloc failure is a
 *                                              module error (errno, "leak: ...")
 * stack_overflow  ignored                      unbounded recursion: SIGSEGV on the guard page
 *                                              (in a Rust process, std's handler turns a
 *                                              guard-page hit into abort(): SIGABRT)
 * oversized_output ignored                     writes 64 KiB chunks until write() refuses,
 *                                              then fails with code = that status
 *                                              (BH_API_TOO_LARGE, -2)
 * emit_after_destroy [u32 LE ms, default 200]  starts a detached thread that calls
 *                                              api->emit(token, "late", u64 LE seq) every
 *                                              2 ms for that long -- also after destroy
 *                                              (destroy does NOT join it); returns empty
 *                                              at once. The thread touches only its own
 *                                              heap block and static counters.
 * stale_count     ignored                      u32 LE: how many of those emits got
 *                                              BH_API_STALE (process-wide, all threads)
 * emit_stats      ignored                      5 x u32 LE: ok, stale, other statuses,
 *                                              threads started, threads finished
 * bogus_write     "" | "null" | "huge"         "null": write(call, NULL, 16);
 *                                              "huge": write(call, buf, SIZE_MAX);
 *                                              "" : both, in that order. Fails with
 *                                              code = the first non-OK status (expected
 *                                              BH_API_INVALID -1 / BH_API_TOO_LARGE -2),
 *                                              message "write(NULL,16)=<s> write(ptr,SIZE_MAX)=<s>"
 *                                              (a part not run shows "-"); 99 if all OK
 * bad_fail        "" | "utf8" | "null" | "zero" "utf8": fail(43, invalid UTF-8 message);
 *                                              "null": fail(43, NULL, SIZE_MAX);
 *                                              "zero": fail(0, "zero code", 9);
 *                                              each alone leaves that fail as the last
 *                                              one and returns 43. "": all three, then a
 *                                              valid fail(43, "bad_fail: utf8=<s> null=<s>
 *                                              zero=<s>") with the statuses they got.
 * print_garbage   any                          writes binary junk (invalid UTF-8, NUL,
 *                                              ESC, no newline) to stdout and stderr,
 *                                              then echoes the input
 * fork            ignored                      fork(); the child _exit(0)s at once
 * exec            ignored                      execve("/bin/true") -- on success the
 *                                              calling process IS REPLACED (exit 0)
 * open_write      ignored                      open("/tmp/bh_faulty_probe", O_WRONLY|O_CREAT)
 * socket          ignored                      socket(AF_INET, SOCK_STREAM, 0)
 * ptrace          ignored                      ptrace(PTRACE_TRACEME) -- on success the
 *                                              process becomes traced by its parent
 * bad_lengths     "fail" | "log" | "emit" |     puts a short message at the very end of a
 *                 "write" | "log_utf8" |       page followed by an inaccessible page, then
 *                 "topic_utf8" | "fail_utf8"   passes it with a lying length: fail(43, m,
 *                                              SIZE_MAX), log(m, SIZE_MAX), emit(topic m,
 *                                              SIZE_MAX), write(m, SIZE_MAX), or with
 *                                              invalid UTF-8 (log, emit topic, fail).
 *                                              Output: the status as i32 LE; "fail" and
 *                                              "fail_utf8" return 43 (the call fails).
 *                                              A host that reads past the length crashes.
 * save_ctx        ignored                      keeps this call's bh_call_ctx* in the
 *                                              instance; returns empty
 * use_saved       ignored                      write(saved, "late", 4) and fail(saved, 7,
 *                                              ...) on this thread, after save_ctx's call
 *                                              returned; output 2 x i32 LE statuses
 *                                              (expected BH_API_STALE, -3)
 * use_saved_thread ignored                     the same from a new thread (joined)
 * race_late_write ignored                      starts a thread that writes 1 byte through
 *                                              this call's context in a loop until a
 *                                              status other than OK/TOO_LARGE, and returns
 *                                              as soon as the thread wrote once
 * race_result     ignored                      joins that thread; output i32 LE final
 *                                              status (expected BH_API_STALE) + u32 LE
 *                                              writes accepted
 * stop_when_idle  ignored                      starts a detached thread that waits until
 *                                              this call has returned (its context turns
 *                                              BH_API_STALE), then raise(SIGSTOP): the
 *                                              process stops itself while idle. Run it
 *                                              only in an isolated worker.
 * slow_exit       [u32 LE ms, default 600]     arms destroy(): it then closes every descriptor
 *                                              from 3 to 1023 (an isolated worker's control
 *                                              channel among them) and sleeps that long
 *                                              before returning: a worker that hangs up at
 *                                              shutdown and is slow to exit; returns empty
 * scribble_input  any bytes                    writes to its own input (casting away
 *                                              const): flips every byte of the first
 *                                              64 KiB, then outputs "scribbled". In an
 *                                              isolated worker over a caller's
 *                                              SharedBuffer (read-only there) the worker
 *                                              dies with SIGSEGV; in-process it changes
 *                                              the caller's memory (which in-process
 *                                              loading cannot prevent).
 *
 * The five syscall probes output "ok" on success, or fail with the errno
 * captured on the line right after the call as the code and
 * "<call>: <strerror>" as the message. They exist to prove sandbox denials:
 * run them only in an isolated worker.
 *
 * The library must stay loaded for the lifetime of an emit_after_destroy
 * thread (the host never unloads a module while its threads may run).
 */
#define _GNU_SOURCE
#include "bridgehost_module.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define BH_EXPORT __attribute__((visibility("default")))

typedef struct faulty {
    const bh_host_api *api; /* valid until destroy() returns */
    bh_call_ctx *saved;     /* save_ctx: a context kept past its call */
    pthread_t racer;        /* race_late_write's thread, joined by race_result */
    int racer_running;
    atomic_int race_status;
    atomic_uint race_writes;
    atomic_int race_started;
    uint32_t slow_exit_ms; /* slow_exit: destroy's sleep after closing descriptors; 0 = off */
} faulty;

static int32_t failmsg(const bh_host_api *api, bh_call_ctx *call, int32_t code, const char *msg)
{
    if (code == 0)
        code = 1;
    api->fail(call, code, msg, strlen(msg));
    return code;
}

static int32_t fail_errno(const bh_host_api *api, bh_call_ctx *call, const char *what, int err)
{
    char buf[256];
    char ebuf[128];
    const char *text = strerror_r(err, ebuf, sizeof ebuf); /* GNU variant */
    snprintf(buf, sizeof buf, "%s: %s", what, text);
    return failmsg(api, call, err ? err : 1, buf);
}

static int32_t write_str(const bh_host_api *api, bh_call_ctx *call, const char *s)
{
    int32_t w = api->write(call, (const uint8_t *)s, strlen(s));
    if (w != BH_API_OK)
        return failmsg(api, call, w, "write refused");
    return 0;
}

static int32_t write_u32s(const bh_host_api *api, bh_call_ctx *call, const uint32_t *v, size_t n)
{
    uint8_t buf[64];
    if (n > sizeof buf / 4)
        n = sizeof buf / 4;
    for (size_t i = 0; i < n; i++) {
        buf[4 * i + 0] = (uint8_t)v[i];
        buf[4 * i + 1] = (uint8_t)(v[i] >> 8);
        buf[4 * i + 2] = (uint8_t)(v[i] >> 16);
        buf[4 * i + 3] = (uint8_t)(v[i] >> 24);
    }
    int32_t w = api->write(call, buf, 4 * n);
    if (w != BH_API_OK)
        return failmsg(api, call, w, "write refused");
    return 0;
}

static int input_u32(const uint8_t *in, size_t len, uint32_t dflt, uint32_t *out)
{
    if (len == 0) {
        *out = dflt;
        return 0;
    }
    if (len != 4)
        return -1;
    *out = (uint32_t)in[0] | (uint32_t)in[1] << 8 | (uint32_t)in[2] << 16 | (uint32_t)in[3] << 24;
    return 0;
}

static int input_is(const uint8_t *in, size_t len, const char *s)
{
    size_t n = strlen(s);
    return len == n && (n == 0 || memcmp(in, s, n) == 0);
}

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

/* ---- crashes ---------------------------------------------------------- */

static int *volatile null_ptr; /* volatile: the store cannot be proven to be UB */

static void do_segfault(void)
{
    *null_ptr = 42;
}

static volatile int stop_recursion; /* never set: keeps the recursion unbounded */

static __attribute__((noinline)) int recurse(volatile char *prev, unsigned depth)
{
    /* Small frames: every frame touches the next page, so the guard page is
     * hit instead of jumped over. */
    volatile char frame[512];
    frame[0] = (char)depth;
    frame[sizeof frame - 1] = prev ? prev[0] : 0;
    if (stop_recursion)
        return frame[0];
    /* Using frame after the call keeps it from becoming a tail call. */
    return recurse(frame, depth + 1) + frame[sizeof frame - 1];
}

/* ---- leak ------------------------------------------------------------- */

static int32_t do_leak(const bh_host_api *api, const uint8_t *in, size_t len, bh_call_ctx *call)
{
    uint32_t mib;
    if (input_u32(in, len, 64, &mib) != 0)
        return failmsg(api, call, EINVAL, "leak: input is an optional u32 LE MiB count");
    long page = sysconf(_SC_PAGESIZE);
    if (page <= 0)
        page = 4096;
    uint32_t done = 0;
    for (; done < mib; done++) {
        volatile char *p = malloc((size_t)1 << 20);
        int err = errno;
        if (p == NULL) {
            char what[64];
            snprintf(what, sizeof what, "leak: malloc failed after %u MiB", done);
            return fail_errno(api, call, what, err ? err : ENOMEM);
        }
        for (size_t off = 0; off < ((size_t)1 << 20); off += (size_t)page)
            p[off] = (char)off;
    }
    return write_u32s(api, call, &done, 1);
}

/* ---- output ----------------------------------------------------------- */

static int32_t do_oversized(const bh_host_api *api, bh_call_ctx *call)
{
    static const uint8_t chunk[64 * 1024];
    size_t total = 0;
    for (;;) {
        int32_t w = api->write(call, chunk, sizeof chunk);
        if (w != BH_API_OK) {
            char msg[128];
            snprintf(msg, sizeof msg, "write returned %d after %zu bytes", (int)w, total);
            return failmsg(api, call, w, msg);
        }
        total += sizeof chunk;
    }
}

static int32_t do_bogus_write(const bh_host_api *api, const uint8_t *in, size_t len, bh_call_ctx *call)
{
    int run_null = input_is(in, len, "") || input_is(in, len, "null");
    int run_huge = input_is(in, len, "") || input_is(in, len, "huge");
    if (!run_null && !run_huge)
        return failmsg(api, call, EINVAL, "bogus_write: input is \"\", \"null\" or \"huge\"");
    int32_t r1 = 0, r2 = 0;
    static const uint8_t small[16];
    if (run_null)
        r1 = api->write(call, NULL, 16);
    if (run_huge)
        r2 = api->write(call, small, SIZE_MAX);
    char s1[16] = "-", s2[16] = "-";
    if (run_null)
        snprintf(s1, sizeof s1, "%d", (int)r1);
    if (run_huge)
        snprintf(s2, sizeof s2, "%d", (int)r2);
    char msg[128];
    snprintf(msg, sizeof msg, "write(NULL,16)=%s write(ptr,SIZE_MAX)=%s", s1, s2);
    int32_t code = r1 != BH_API_OK ? r1 : r2 != BH_API_OK ? r2 : 99;
    return failmsg(api, call, code, msg);
}

static int32_t do_bad_fail(const bh_host_api *api, const uint8_t *in, size_t len, bh_call_ctx *call)
{
    int all = input_is(in, len, "");
    int do_utf8 = all || input_is(in, len, "utf8");
    int do_null = all || input_is(in, len, "null");
    int do_zero = all || input_is(in, len, "zero");
    if (!do_utf8 && !do_null && !do_zero)
        return failmsg(api, call, EINVAL, "bad_fail: input is \"\", \"utf8\", \"null\" or \"zero\"");
    static const char bad_utf8[] = "bad \xff\xfe utf-8 \xc3";
    int32_t s_utf8 = 0, s_null = 0, s_zero = 0;
    if (do_utf8)
        s_utf8 = api->fail(call, 43, bad_utf8, sizeof bad_utf8 - 1);
    if (do_null)
        s_null = api->fail(call, 43, NULL, SIZE_MAX);
    if (do_zero)
        s_zero = api->fail(call, 0, "zero code", 9);
    if (all) {
        char msg[128];
        snprintf(msg, sizeof msg, "bad_fail: utf8=%d null=%d zero=%d", (int)s_utf8, (int)s_null,
                 (int)s_zero);
        return failmsg(api, call, 43, msg);
    }
    return 43;
}

static int32_t do_print_garbage(const bh_host_api *api, const uint8_t *in, size_t len,
                                bh_call_ctx *call)
{
    static const char junk[] = "\xff\xfe\x00garbage\x1b[31m\x07\xc3(partial line, no newline";
    ssize_t r = write(STDOUT_FILENO, junk, sizeof junk - 1);
    r = write(STDERR_FILENO, junk, sizeof junk - 1);
    fputs("\nfaulty: stdio junk \xe2\x82", stdout);
    fflush(stdout);
    fputs("\nfaulty: stderr junk \x80\x80", stderr);
    (void)r;
    if (len == 0)
        return 0;
    int32_t w = api->write(call, in, len);
    return w == BH_API_OK ? 0 : failmsg(api, call, w, "write refused");
}

/* ---- emit after destroy ----------------------------------------------- */

static atomic_uint late_ok, late_stale, late_other, late_started, late_finished;

typedef struct late_args {
    uint64_t token;
    int32_t (*emit)(uint64_t, const char *, size_t, const uint8_t *, size_t);
    uint32_t duration_ms;
} late_args;

static void *late_thread(void *arg)
{
    late_args a = *(late_args *)arg;
    free(arg);
    struct timespec start, now;
    clock_gettime(CLOCK_MONOTONIC, &start);
    for (uint64_t seq = 0;; seq++) {
        uint8_t payload[8];
        for (int i = 0; i < 8; i++)
            payload[i] = (uint8_t)(seq >> (8 * i));
        int32_t rc = a.emit(a.token, "late", 4, payload, sizeof payload);
        if (rc == BH_API_OK)
            atomic_fetch_add(&late_ok, 1);
        else if (rc == BH_API_STALE)
            atomic_fetch_add(&late_stale, 1);
        else
            atomic_fetch_add(&late_other, 1);
        clock_gettime(CLOCK_MONOTONIC, &now);
        long elapsed_ms = (now.tv_sec - start.tv_sec) * 1000L + (now.tv_nsec - start.tv_nsec) / 1000000L;
        if (elapsed_ms >= (long)a.duration_ms)
            break;
        sleep_ms(2);
    }
    atomic_fetch_add(&late_finished, 1);
    return NULL;
}

static int32_t do_emit_after_destroy(const bh_host_api *api, const uint8_t *in, size_t len,
                                     bh_call_ctx *call)
{
    uint32_t ms;
    if (input_u32(in, len, 200, &ms) != 0 || ms > 60000)
        return failmsg(api, call, EINVAL, "emit_after_destroy: input is an optional u32 LE ms <= 60000");
    late_args *a = malloc(sizeof *a);
    int err = errno;
    if (a == NULL)
        return fail_errno(api, call, "emit_after_destroy: malloc", err ? err : ENOMEM);
    /* Copies: the thread never touches the instance or the api table, which
     * die with destroy(). */
    a->token = api->instance_token;
    a->emit = api->emit;
    a->duration_ms = ms;
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    pthread_t t;
    int rc = pthread_create(&t, &attr, late_thread, a);
    pthread_attr_destroy(&attr);
    if (rc != 0) {
        free(a);
        return fail_errno(api, call, "emit_after_destroy: pthread_create", rc);
    }
    atomic_fetch_add(&late_started, 1);
    return 0;
}

/* ---- syscall probes --------------------------------------------------- */

static int32_t probe_result(const bh_host_api *api, bh_call_ctx *call, const char *what, int failed,
                            int err)
{
    if (!failed)
        return write_str(api, call, "ok");
    return fail_errno(api, call, what, err);
}

static int32_t do_fork(const bh_host_api *api, bh_call_ctx *call)
{
    pid_t pid = fork();
    int err = errno;
    if (pid == 0)
        _exit(0);
    if (pid > 0) {
        int status;
        while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
        }
    }
    return probe_result(api, call, "fork", pid < 0, err);
}

static int32_t do_exec(const bh_host_api *api, bh_call_ctx *call)
{
    char *const argv[] = {"/bin/true", NULL};
    char *const envp[] = {NULL};
    int rc = execve("/bin/true", argv, envp);
    int err = errno;
    return probe_result(api, call, "execve", rc < 0, err);
}

static int32_t do_open_write(const bh_host_api *api, bh_call_ctx *call)
{
    int fd = open("/tmp/bh_faulty_probe", O_WRONLY | O_CREAT, 0600);
    int err = errno;
    if (fd >= 0)
        close(fd);
    return probe_result(api, call, "open", fd < 0, err);
}

static int32_t do_socket(const bh_host_api *api, bh_call_ctx *call)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    int err = errno;
    if (fd >= 0)
        close(fd);
    return probe_result(api, call, "socket", fd < 0, err);
}

static int32_t do_ptrace(const bh_host_api *api, bh_call_ctx *call)
{
    long rc = ptrace(PTRACE_TRACEME, 0, NULL, NULL);
    int err = errno;
    return probe_result(api, call, "ptrace", rc < 0, err);
}

/* ---- host API misuse: lying lengths, late contexts --------------------- */

static int32_t write_i32(const bh_host_api *api, bh_call_ctx *call, int32_t v)
{
    uint32_t u = (uint32_t)v;
    return write_u32s(api, call, &u, 1);
}

static int32_t do_bad_lengths(faulty *f, const uint8_t *in, size_t len, bh_call_ctx *call)
{
    const bh_host_api *api = f->api;
    long page = sysconf(_SC_PAGESIZE);
    char *map = mmap(NULL, 2 * (size_t)page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    int err = errno;
    if (map == MAP_FAILED)
        return fail_errno(api, call, "bad_lengths: mmap", err);
    if (mprotect(map + page, (size_t)page, PROT_NONE) != 0) {
        err = errno;
        munmap(map, 2 * (size_t)page);
        return fail_errno(api, call, "bad_lengths: mprotect", err);
    }
    /* 8 bytes right before the inaccessible page: any read past them faults. */
    char *m = map + page - 8;
    memcpy(m, "hostile!", 8);
    char *bad = map + page - 2;
    bad[0] = (char)0xff;
    bad[1] = (char)0xfe;
#define IS(lit) (len == sizeof(lit) - 1 && memcmp(in, lit, len) == 0)
    int32_t st;
    int32_t rc = 0;
    if (IS("fail")) {
        st = api->fail(call, 43, m, SIZE_MAX);
        rc = 43;
    } else if (IS("fail_utf8")) {
        st = api->fail(call, 43, bad, 2);
        rc = 43;
    } else if (IS("log")) {
        st = api->log(api->instance_token, 2, m, SIZE_MAX);
    } else if (IS("log_utf8")) {
        st = api->log(api->instance_token, 2, bad, 2);
    } else if (IS("emit")) {
        st = api->emit(api->instance_token, m, SIZE_MAX, (const uint8_t *)m, 1);
    } else if (IS("topic_utf8")) {
        st = api->emit(api->instance_token, bad, 2, (const uint8_t *)m, 1);
    } else if (IS("write")) {
        st = api->write(call, (const uint8_t *)m, SIZE_MAX);
    } else {
        munmap(map, 2 * (size_t)page);
        return failmsg(api, call, EINVAL, "bad_lengths: unknown case");
    }
#undef IS
    munmap(map, 2 * (size_t)page);
    if (rc != 0)
        return rc;
    /* A refused write marks the output exceeded: report through fail. */
    if (st == BH_API_TOO_LARGE && len == 5 && memcmp(in, "write", 5) == 0)
        return failmsg(api, call, 44, "write(SIZE_MAX) refused with BH_API_TOO_LARGE");
    return write_i32(api, call, st);
}

typedef struct late_use {
    const bh_host_api *api;
    bh_call_ctx *ctx;
    int32_t w, f;
} late_use;

static void *late_use_thread(void *arg)
{
    late_use *u = arg;
    u->w = u->api->write(u->ctx, (const uint8_t *)"late", 4);
    u->f = u->api->fail(u->ctx, 7, "late", 4);
    return NULL;
}

static int32_t do_use_saved(faulty *f, bh_call_ctx *call, int on_thread)
{
    const bh_host_api *api = f->api;
    if (f->saved == NULL)
        return failmsg(api, call, EINVAL, "use_saved: call save_ctx first");
    late_use u = {api, f->saved, 0, 0};
    if (on_thread) {
        pthread_t t;
        int rc = pthread_create(&t, NULL, late_use_thread, &u);
        if (rc != 0)
            return fail_errno(api, call, "use_saved_thread: pthread_create", rc);
        pthread_join(t, NULL);
    } else {
        late_use_thread(&u);
    }
    uint32_t v[2] = {(uint32_t)u.w, (uint32_t)u.f};
    return write_u32s(api, call, v, 2);
}

typedef struct racer_args {
    faulty *f;
    bh_call_ctx *ctx;
} racer_args;

static void *racer_thread(void *arg)
{
    racer_args a = *(racer_args *)arg;
    free(arg);
    for (;;) {
        int32_t st = a.f->api->write(a.ctx, (const uint8_t *)"x", 1);
        if (st == BH_API_OK)
            atomic_fetch_add(&a.f->race_writes, 1);
        atomic_store(&a.f->race_started, 1);
        if (st != BH_API_OK && st != BH_API_TOO_LARGE) {
            atomic_store(&a.f->race_status, st);
            return NULL;
        }
    }
}

static int32_t do_race_late_write(faulty *f, bh_call_ctx *call)
{
    const bh_host_api *api = f->api;
    if (f->racer_running)
        return failmsg(api, call, EINVAL, "race_late_write: call race_result first");
    racer_args *a = malloc(sizeof *a);
    if (a == NULL)
        return failmsg(api, call, ENOMEM, "race_late_write: malloc");
    a->f = f;
    a->ctx = call;
    atomic_store(&f->race_started, 0);
    atomic_store(&f->race_writes, 0);
    atomic_store(&f->race_status, 0);
    int rc = pthread_create(&f->racer, NULL, racer_thread, a);
    if (rc != 0) {
        free(a);
        return fail_errno(api, call, "race_late_write: pthread_create", rc);
    }
    f->racer_running = 1;
    /* Return while the thread is writing: its next writes race the end of this call. */
    while (!atomic_load(&f->race_started))
        sched_yield();
    return 0;
}

static int32_t do_race_result(faulty *f, bh_call_ctx *call)
{
    const bh_host_api *api = f->api;
    if (!f->racer_running)
        return failmsg(api, call, EINVAL, "race_result: call race_late_write first");
    pthread_join(f->racer, NULL);
    f->racer_running = 0;
    uint32_t v[2] = {(uint32_t)atomic_load(&f->race_status), atomic_load(&f->race_writes)};
    return write_u32s(api, call, v, 2);
}

typedef struct stopper_args {
    int32_t (*write)(bh_call_ctx *, const uint8_t *, size_t);
    bh_call_ctx *ctx;
} stopper_args;

static void *stopper_thread(void *arg)
{
    stopper_args a = *(stopper_args *)arg;
    free(arg);
    while (a.write(a.ctx, NULL, 0) != BH_API_STALE)
        sched_yield();
    raise(SIGSTOP);
    return NULL;
}

static int32_t do_stop_when_idle(const bh_host_api *api, bh_call_ctx *call)
{
    stopper_args *a = malloc(sizeof *a);
    if (a == NULL)
        return failmsg(api, call, ENOMEM, "stop_when_idle: malloc");
    a->write = api->write;
    a->ctx = call;
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    pthread_t t;
    int rc = pthread_create(&t, &attr, stopper_thread, a);
    pthread_attr_destroy(&attr);
    if (rc != 0) {
        free(a);
        return fail_errno(api, call, "stop_when_idle: pthread_create", rc);
    }
    return 0;
}

/* ---- descriptor ------------------------------------------------------- */

enum {
    M_OK,
    M_SEGFAULT,
    M_ABORT,
    M_HANG,
    M_EXIT,
    M_LEAK,
    M_STACK_OVERFLOW,
    M_OVERSIZED_OUTPUT,
    M_EMIT_AFTER_DESTROY,
    M_STALE_COUNT,
    M_EMIT_STATS,
    M_BOGUS_WRITE,
    M_BAD_FAIL,
    M_PRINT_GARBAGE,
    M_FORK,
    M_EXEC,
    M_OPEN_WRITE,
    M_SOCKET,
    M_PTRACE,
    M_BAD_LENGTHS,
    M_SAVE_CTX,
    M_USE_SAVED,
    M_USE_SAVED_THREAD,
    M_RACE_LATE_WRITE,
    M_RACE_RESULT,
    M_STOP_WHEN_IDLE,
    M_SCRIBBLE_INPUT,
    M_SLOW_EXIT,
    M_COUNT
};

static const bh_method_desc methods[M_COUNT] = {
    [M_OK] = {"ok", BH_METHOD_NONBLOCKING, 0},
    [M_SEGFAULT] = {"segfault", 0, 0},
    [M_ABORT] = {"abort", 0, 0},
    [M_HANG] = {"hang", 0, 0},
    [M_EXIT] = {"exit", 0, 0},
    [M_LEAK] = {"leak", 0, 0},
    [M_STACK_OVERFLOW] = {"stack_overflow", 0, 0},
    [M_OVERSIZED_OUTPUT] = {"oversized_output", 0, 0},
    [M_EMIT_AFTER_DESTROY] = {"emit_after_destroy", 0, 0},
    [M_STALE_COUNT] = {"stale_count", BH_METHOD_NONBLOCKING, 0},
    [M_EMIT_STATS] = {"emit_stats", BH_METHOD_NONBLOCKING, 0},
    [M_BOGUS_WRITE] = {"bogus_write", 0, 0},
    [M_BAD_FAIL] = {"bad_fail", 0, 0},
    [M_PRINT_GARBAGE] = {"print_garbage", 0, 0},
    [M_FORK] = {"fork", 0, 0},
    [M_EXEC] = {"exec", 0, 0},
    [M_OPEN_WRITE] = {"open_write", 0, 0},
    [M_SOCKET] = {"socket", 0, 0},
    [M_PTRACE] = {"ptrace", 0, 0},
    [M_BAD_LENGTHS] = {"bad_lengths", 0, 0},
    [M_SAVE_CTX] = {"save_ctx", 0, 0},
    [M_USE_SAVED] = {"use_saved", 0, 0},
    [M_USE_SAVED_THREAD] = {"use_saved_thread", 0, 0},
    [M_RACE_LATE_WRITE] = {"race_late_write", 0, 0},
    [M_RACE_RESULT] = {"race_result", 0, 0},
    [M_STOP_WHEN_IDLE] = {"stop_when_idle", 0, 0},
    [M_SCRIBBLE_INPUT] = {"scribble_input", 0, 0},
    [M_SLOW_EXIT] = {"slow_exit", 0, 0},
};

static int32_t faulty_init(const bh_host_api *api, const uint8_t *config, size_t config_len,
                           void **instance_out, bh_call_ctx *err)
{
    (void)config;
    (void)config_len;
    faulty *f = calloc(1, sizeof *f);
    int e = errno;
    if (f == NULL)
        return fail_errno(api, err, "faulty: malloc", e ? e : ENOMEM);
    f->api = api;
    *instance_out = f;
    return 0;
}

static int32_t faulty_call(void *instance, uint32_t method, const uint8_t *in, size_t len,
                           bh_call_ctx *call)
{
    faulty *f = instance;
    const bh_host_api *api = f->api;
    static const uint8_t empty[1];
    if (in == NULL) {
        if (len != 0)
            return failmsg(api, call, EINVAL, "input is NULL with a non-zero length");
        in = empty;
    }
    switch (method) {
    case M_OK: {
        int32_t w = len ? api->write(call, in, len) : BH_API_OK;
        return w == BH_API_OK ? 0 : failmsg(api, call, w, "write refused");
    }
    case M_SEGFAULT:
        do_segfault();
        return failmsg(api, call, 1, "segfault: survived a NULL store");
    case M_ABORT:
        abort();
    case M_HANG:
        for (;;)
            sleep(3600);
    case M_EXIT:
        _exit(3);
    case M_LEAK:
        return do_leak(api, in, len, call);
    case M_STACK_OVERFLOW: {
        int r = recurse(NULL, 0);
        char msg[64];
        snprintf(msg, sizeof msg, "stack_overflow: recursion returned %d", r);
        return failmsg(api, call, 1, msg);
    }
    case M_OVERSIZED_OUTPUT:
        return do_oversized(api, call);
    case M_EMIT_AFTER_DESTROY:
        return do_emit_after_destroy(api, in, len, call);
    case M_STALE_COUNT: {
        uint32_t v = atomic_load(&late_stale);
        return write_u32s(api, call, &v, 1);
    }
    case M_EMIT_STATS: {
        uint32_t v[5] = {atomic_load(&late_ok), atomic_load(&late_stale), atomic_load(&late_other),
                         atomic_load(&late_started), atomic_load(&late_finished)};
        return write_u32s(api, call, v, 5);
    }
    case M_BOGUS_WRITE:
        return do_bogus_write(api, in, len, call);
    case M_BAD_FAIL:
        return do_bad_fail(api, in, len, call);
    case M_PRINT_GARBAGE:
        return do_print_garbage(api, in, len, call);
    case M_FORK:
        return do_fork(api, call);
    case M_EXEC:
        return do_exec(api, call);
    case M_OPEN_WRITE:
        return do_open_write(api, call);
    case M_SOCKET:
        return do_socket(api, call);
    case M_PTRACE:
        return do_ptrace(api, call);
    case M_BAD_LENGTHS:
        return do_bad_lengths(f, in, len, call);
    case M_SAVE_CTX:
        f->saved = call;
        return 0;
    case M_USE_SAVED:
        return do_use_saved(f, call, 0);
    case M_USE_SAVED_THREAD:
        return do_use_saved(f, call, 1);
    case M_RACE_LATE_WRITE:
        return do_race_late_write(f, call);
    case M_RACE_RESULT:
        return do_race_result(f, call);
    case M_STOP_WHEN_IDLE:
        return do_stop_when_idle(api, call);
    case M_SCRIBBLE_INPUT: {
        /* Deliberately writes through a const pointer: the hostile case. */
        volatile uint8_t *p = (volatile uint8_t *)(uintptr_t)in;
        for (size_t i = 0; i < len && i < 65536; i++)
            p[i] = (uint8_t)~p[i];
        return api->write(call, (const uint8_t *)"scribbled", 9) == BH_API_OK ? 0 : -1;
    }
    case M_SLOW_EXIT: {
        uint32_t ms = 600;
        if (len == 4)
            memcpy(&ms, in, 4);
        else if (len != 0)
            return failmsg(api, call, EINVAL, "slow_exit: input is an optional u32 LE ms");
        f->slow_exit_ms = ms;
        return 0;
    }
    default:
        return failmsg(api, call, EINVAL, "no such method index");
    }
}

static void faulty_destroy(void *instance)
{
    /* Deliberately does NOT wait for emit_after_destroy threads. */
    faulty *f = instance;
    if (f->racer_running)
        pthread_join(f->racer, NULL); /* it ends at its first stale write */
    if (f->slow_exit_ms) {
        for (int fd = 3; fd < 1024; fd++)
            close(fd);
        struct timespec ts = {(time_t)(f->slow_exit_ms / 1000), (long)(f->slow_exit_ms % 1000) * 1000000L};
        while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
        }
    }
    free(instance);
}

static const bh_module_desc desc = {
    .magic = BH_MODULE_MAGIC,
    .abi_version = BH_MODULE_ABI_VERSION,
    .struct_size = sizeof(bh_module_desc),
    .thread_model = BH_THREAD_SAFE,
    .method_count = M_COUNT,
    .name = "faulty",
    .version = "0.1.0",
    .methods = methods,
    .init = faulty_init,
    .call = faulty_call,
    .destroy = faulty_destroy,
};

BH_EXPORT const bh_module_desc *bridgehost_module_v1(void)
{
    return &desc;
}
