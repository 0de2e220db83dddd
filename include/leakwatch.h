/* leakwatch.h — optional API for programs run under libleakwatch.so.
 *
 * Header-only: every function looks up one table the preload exports
 * (`leakwatch_api_v1`, found with dlsym(RTLD_DEFAULT) once and cached), so a
 * program built with it has no link-time dependency and runs unchanged
 * without the preload — every call is then a cheap no-op returning a
 * neutral value. Define LEAKWATCH_DISABLE before including it to compile
 * all of it out. Usable from C and C++. Link with -ldl on glibc < 2.34.
 *
 * ABI: the table starts with its size and only ever grows at the end; a
 * caller checks the size before using a member, so old preloads work with
 * new headers and the other way round.
 */
#ifndef LEAKWATCH_H
#define LEAKWATCH_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* A context handle: a node in leakwatch's context tree (0 = none). */
typedef unsigned long leakwatch_ctx_t;

/* Pass to leakwatch_ctx_enter() to run code (and start threads) under the
 * root context on purpose: threads started meanwhile are never flagged
 * because their creator's scope ended (like Go's context.WithoutCancel). */
#define LEAKWATCH_BACKGROUND ((leakwatch_ctx_t)~0ul)

struct leakwatch_api_v1 {
    size_t size; /* sizeof the table as the preload built it */
    int (*active)(void);
    int (*snapshot)(const char *path);
    leakwatch_ctx_t (*ctx_new)(const char *label);
    int (*ctx_enter)(leakwatch_ctx_t ctx);
    int (*ctx_leave)(void);
    int (*ctx_cancel)(leakwatch_ctx_t ctx);
    int (*verify_none)(int timeout_ms);
    int (*verify_ctx)(leakwatch_ctx_t ctx, int timeout_ms);
    void (*baseline)(void);
    leakwatch_ctx_t (*ctx_current)(void);
};

#if !defined(LEAKWATCH_DISABLE)
#include <dlfcn.h>
#ifndef RTLD_DEFAULT
#define RTLD_DEFAULT ((void *)0)
#endif

static inline const struct leakwatch_api_v1 *leakwatch__api(void)
{
    /* cached per translation unit; a benign race stores the same value */
    static const struct leakwatch_api_v1 *cached;
    static int looked;
    if (!__atomic_load_n(&looked, __ATOMIC_ACQUIRE)) {
        __atomic_store_n(&cached, (const struct leakwatch_api_v1 *)dlsym(RTLD_DEFAULT, "leakwatch_api_v1"),
                         __ATOMIC_RELAXED);
        __atomic_store_n(&looked, 1, __ATOMIC_RELEASE);
    }
    return __atomic_load_n(&cached, __ATOMIC_RELAXED);
}

#define LEAKWATCH__HAS(api, member)                                                          \
    ((api) && (api)->size >= offsetof(struct leakwatch_api_v1, member) + sizeof((api)->member) && \
     (api)->member)

/* 1 when the preload is loaded and recording, else 0. */
static inline int leakwatch_active(void)
{
    const struct leakwatch_api_v1 *a = leakwatch__api();
    return LEAKWATCH__HAS(a, active) ? a->active() : 0;
}

/* Write a snapshot now, synchronously, to `path` (NULL: the `output`
 * option's pattern; %p %n %t %e are expanded in either). Never overwrites
 * an existing file. Returns 0, a negative errno, or -1 without the preload. */
static inline int leakwatch_snapshot(const char *path)
{
    const struct leakwatch_api_v1 *a = leakwatch__api();
    return LEAKWATCH__HAS(a, snapshot) ? a->snapshot(path) : -1;
}

/* New explicit context (a request or test scope), child of the calling
 * thread's current context. `label` (copied, up to 63 bytes) appears in
 * snapshots and in every report line about threads started under it.
 * Returns 0 without the preload. */
static inline leakwatch_ctx_t leakwatch_ctx_new(const char *label)
{
    const struct leakwatch_api_v1 *a = leakwatch__api();
    return LEAKWATCH__HAS(a, ctx_new) ? a->ctx_new(label) : 0;
}

/* Run the calling thread under `ctx` (or LEAKWATCH_BACKGROUND) until the
 * matching leakwatch_ctx_leave(); nests. Threads created meanwhile become
 * children of it. Returns 0, or -1 (unknown/recycled context, no preload). */
static inline int leakwatch_ctx_enter(leakwatch_ctx_t ctx)
{
    const struct leakwatch_api_v1 *a = leakwatch__api();
    return LEAKWATCH__HAS(a, ctx_enter) ? a->ctx_enter(ctx) : -1;
}

/* Undo the innermost leakwatch_ctx_enter() of the calling thread. */
static inline int leakwatch_ctx_leave(void)
{
    const struct leakwatch_api_v1 *a = leakwatch__api();
    return LEAKWATCH__HAS(a, ctx_leave) ? a->ctx_leave() : -1;
}

/* Cancel `ctx` (cause "explicit"): it and every descendant are now ended
 * scopes; threads, timers and sockets still alive under it a grace period
 * later are leaks. The handle must not be used afterwards. */
static inline int leakwatch_ctx_cancel(leakwatch_ctx_t ctx)
{
    const struct leakwatch_api_v1 *a = leakwatch__api();
    return LEAKWATCH__HAS(a, ctx_cancel) ? a->ctx_cancel(ctx) : -1;
}

/* The calling thread's current context (0 without the preload). */
static inline leakwatch_ctx_t leakwatch_ctx_current(void)
{
    const struct leakwatch_api_v1 *a = leakwatch__api();
    return LEAKWATCH__HAS(a, ctx_current) ? a->ctx_current() : 0;
}

/* Reset the baseline of leakwatch_verify_none(): only threads started after
 * this call count. The initial baseline is library initialisation. */
static inline void leakwatch_baseline(void)
{
    const struct leakwatch_api_v1 *a = leakwatch__api();
    if (LEAKWATCH__HAS(a, baseline))
        a->baseline();
}

/* For the end of a test (like goleak.VerifyNone): waits until every thread
 * started since the baseline (other than the caller) has finished, or
 * nothing changes state any more (quiescence), or `timeout_ms` passes.
 * Returns the number still alive and logs one report block per thread
 * (tid, name, start routine, creation stack, blocked call, context label).
 * Returns 0 without the preload. */
static inline int leakwatch_verify_none(int timeout_ms)
{
    const struct leakwatch_api_v1 *a = leakwatch__api();
    return LEAKWATCH__HAS(a, verify_none) ? a->verify_none(timeout_ms) : 0;
}

/* Like leakwatch_verify_none() for one context and its descendants only
 * (threads, and the sockets and timers they own), so parallel tests each
 * check their own scope. Returns the number still alive. */
static inline int leakwatch_verify_ctx(leakwatch_ctx_t ctx, int timeout_ms)
{
    const struct leakwatch_api_v1 *a = leakwatch__api();
    return LEAKWATCH__HAS(a, verify_ctx) ? a->verify_ctx(ctx, timeout_ms) : 0;
}

#else /* LEAKWATCH_DISABLE */
static inline int leakwatch_active(void) { return 0; }
static inline int leakwatch_snapshot(const char *p) { (void)p; return -1; }
static inline leakwatch_ctx_t leakwatch_ctx_new(const char *l) { (void)l; return 0; }
static inline int leakwatch_ctx_enter(leakwatch_ctx_t c) { (void)c; return -1; }
static inline int leakwatch_ctx_leave(void) { return -1; }
static inline int leakwatch_ctx_cancel(leakwatch_ctx_t c) { (void)c; return -1; }
static inline leakwatch_ctx_t leakwatch_ctx_current(void) { return 0; }
static inline void leakwatch_baseline(void) {}
static inline int leakwatch_verify_none(int t) { (void)t; return 0; }
static inline int leakwatch_verify_ctx(leakwatch_ctx_t c, int t) { (void)c; (void)t; return 0; }
#endif

#ifdef __cplusplus
}
#endif
#endif
