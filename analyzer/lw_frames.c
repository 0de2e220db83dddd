/* lw_frames.c — what a displayed stack shows, and what a thread runs.
 *
 * Owns: trimming symbolized stacks for display, so a report shows the
 * user's code: leakwatch's own frames (the hooks, lw_thread_start) go
 * wherever they are; thread-start plumbing goes at the outer end (libc's
 * start_thread / clone3 / __libc_start_main, _start, libstdc++'s
 * execute_native_thread_routine and std::thread's invoker templates,
 * Python's pythread_wrapper / thread_run); std::thread::_M_start_thread
 * goes at the inner end of creation stacks (it is what pthread_create is for
 * C). Also owns naming a thread's entry when its start routine is such
 * plumbing (std::thread): the first user frame above the plumbing in a stack
 * that reaches the thread's start.
 *
 * Must never: influence sites (lw_site.c hashes the raw frames, so trimming
 * rules can improve without changing any site), or trim a stack to nothing
 * (a stack made only of plumbing is shown as it is).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lw_analyze.h"
#include "lw_arena.h"

static const char *base_name(const char *path)
{
    const char *b = path ? strrchr(path, '/') : NULL;
    return b ? b + 1 : path;
}

static bool is_libc(const char *b)
{
    return strncmp(b, "libc.so", 7) == 0 || strncmp(b, "libc-", 5) == 0 || strncmp(b, "libpthread", 10) == 0 ||
           strncmp(b, "ld-linux", 8) == 0 || strncmp(b, "ld-", 3) == 0 || strncmp(b, "ld.so", 5) == 0;
}

static bool is_libstdcxx(const char *b)
{
    return b && strncmp(b, "libstdc++", 9) == 0;
}

static bool is_python(const char *b)
{
    return b && (strncmp(b, "python", 6) == 0 || strncmp(b, "libpython", 9) == 0);
}

bool lw_frame_is_outer_plumbing(const char *module, const char *function)
{
    const char *b = base_name(module);
    /* Below a thread's start routine (or main) libc only starts threads. */
    if (b && is_libc(b))
        return true;
    if (function) {
        static const char *const names[] = {"_start", "start_thread", "clone", "clone3", "__clone",
                                            "__clone3", "__clone_internal", NULL};
        for (const char *const *n = names; *n; n++)
            if (strcmp(function, *n) == 0)
                return true;
        /* std::thread's trampoline and the templates it runs the callable
         * through (instantiated in the user's binary, named std::). */
        if (strstr(function, "execute_native_thread_routine") || strstr(function, "std::thread::_State_impl") ||
            strstr(function, "std::thread::_Invoker") || strstr(function, "std::__invoke"))
            return true;
        if (is_python(b) && (strcmp(function, "pythread_wrapper") == 0 || strcmp(function, "thread_run") == 0))
            return true;
    }
    /* An unnamed libstdc++ frame at the outer end is the trampoline (it is
     * a local symbol, missing from .dynsym without debug info). */
    return is_libstdcxx(b) && !function;
}

/* A start routine that says nothing about the user's code. */
static bool start_is_plumbing(const char *module, const char *function)
{
    return !function || is_libstdcxx(base_name(module)) || strstr(function, "execute_native_thread_routine");
}

static void frame_free(struct lw_sym_frame *f)
{
    free(f->function);
    free(f->file);
    free(f->module);
}

size_t lw_sym_stack_trim(struct lw_sym_stack *st)
{
    size_t n = 0;
    for (size_t i = 0; i < st->n; i++) {
        if (lw_frame_is_leakwatch(st->frames[i].module))
            frame_free(&st->frames[i]);
        else
            st->frames[n++] = st->frames[i];
    }
    st->n = n;
    size_t end = n;
    while (end > 0 && lw_frame_is_outer_plumbing(st->frames[end - 1].module, st->frames[end - 1].function))
        end--;
    size_t begin = 0;
    while (begin < end && is_libstdcxx(base_name(st->frames[begin].module)) && st->frames[begin].function &&
           strstr(st->frames[begin].function, "_M_start_thread"))
        begin++;
    if (begin == end)  /* only plumbing: better than "(no stack)" */
        return 0;
    for (size_t i = end; i < n; i++)
        frame_free(&st->frames[i]);
    for (size_t i = 0; i < begin; i++)
        frame_free(&st->frames[i]);
    memmove(st->frames, st->frames + begin, (end - begin) * sizeof(*st->frames));
    st->n = end - begin;
    if (!st->n) {
        free(st->frames);
        st->frames = NULL;
    }
    return n - end;
}

/* Outermost user function of stack si when the stack reaches the thread's
 * start (plumbing was trimmed at its outer end); malloc'd or NULL. A stack
 * cut short by stack_depth ends somewhere in the middle: no answer. */
static char *stack_entry(struct lw_symbolizer *z, const struct lw_snapshot *s, int si)
{
    if (si < 0)
        return NULL;
    struct lw_sym_stack st;
    size_t outer = lw_stack_symbolize_ex(z, s, si, &st);
    char *r = NULL;
    if (outer && st.n && st.frames[st.n - 1].function)
        r = lw_xstrdup(st.frames[st.n - 1].function);
    lw_sym_stack_free(&st);
    return r;
}

/* "std::thread from Session::start()": the caller of the std::thread
 * constructor in a creation stack; malloc'd or NULL. */
static char *ctor_caller(struct lw_symbolizer *z, const struct lw_snapshot *s, int si)
{
    if (si < 0)
        return NULL;
    struct lw_sym_stack st;
    lw_stack_symbolize(z, s, si, &st);
    char *r = NULL;
    for (size_t i = 0; i + 1 < st.n && !r; i++)
        if (st.frames[i].function && strncmp(st.frames[i].function, "std::thread::thread", 19) == 0 &&
            st.frames[i + 1].function && strncmp(st.frames[i + 1].function, "std::", 5) != 0)
            r = lw_xasprintf("std::thread from %s", st.frames[i + 1].function);
    lw_sym_stack_free(&st);
    return r;
}

char *lw_thread_entry(struct lw_symbolizer *z, const struct lw_snapshot *s, int64_t tid, bool has_start,
                      const struct lw_frame_ref *start)
{
    const char *fn = has_start ? lw_frame_function(z, s, start) : NULL;
    const char *mod = has_start && start->module >= 0 ? s->modules[start->module].path : NULL;
    if (fn && !start_is_plumbing(mod, fn))
        return lw_xstrdup(fn);
    if (!has_start || tid <= 0)
        return NULL;
    /* 1. The thread's own blocked stack, when it reaches the start. */
    const struct lw_snap_thread *self = NULL;
    for (size_t i = 0; i < s->nthreads; i++)
        if (s->threads[i].tid == tid && (!self || strcmp(s->threads[i].state, "exited") != 0))
            self = &s->threads[i];
    char *r = self && self->is_blocked ? stack_entry(z, s, self->blocked.stack) : NULL;
    /* 2. A thread it created: that creation stack is this thread's stack. */
    for (size_t i = 0; !r && i < s->nthreads; i++)
        if (s->threads[i].creator_tid == tid && s->threads[i].tid != tid)
            r = stack_entry(z, s, s->threads[i].creation_stack);
    for (size_t i = 0; !r && i < s->ntimers; i++)
        if (s->timers[i].creator_tid == tid)
            r = stack_entry(z, s, s->timers[i].creation_stack);
    for (size_t i = 0; !r && i < s->nsockets; i++)
        if (s->sockets[i].creator_tid == tid)
            r = stack_entry(z, s, s->sockets[i].creation_stack);
    /* 3. Where it was started. */
    if (!r && self)
        r = ctor_caller(z, s, self->creation_stack);
    return r;
}
