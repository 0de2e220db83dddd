/* lw_frames.c — the frame concept: whose a frame is, what a displayed stack
 * shows, and what a thread runs.
 *
 * Owns: classifying frames (leakwatch's own, the C runtime, thread-start
 * plumbing) for both site signatures (lw_site.c asks lw_frame_is_runtime)
 * and display; symbolizing stack records into model stacks; trimming them
 * for display, so a report shows the
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
 * Must never: let display trimming influence sites (lw_site.c hashes the
 * untrimmed frames, so trimming rules can improve without changing any
 * site), call into lw_site.c, or trim a stack to nothing
 * (a stack made only of plumbing is shown as it is).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lw_analyze.h"
#include "lw_arena.h"

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

bool lw_frame_is_leakwatch(const char *module)
{
    return module && strncmp(lw_base_name(module), "libleakwatch", 12) == 0;
}

bool lw_frame_is_runtime(const char *module, const char *function)
{
    if (!module)
        return false;
    const char *b = lw_base_name(module);
    if (strncmp(b, "libleakwatch", 12) == 0 || strncmp(b, "libc.so", 7) == 0 || strncmp(b, "libc-", 5) == 0 ||
        strncmp(b, "libpthread", 10) == 0 || strncmp(b, "ld-linux", 8) == 0 || strncmp(b, "ld-", 3) == 0 ||
        strncmp(b, "ld.so", 5) == 0)
        return true;
    /* libstdc++: only the thread start machinery (std::thread's
     * _M_start_thread and the trampoline), not user-visible library code. */
    if (is_libstdcxx(b))
        return !function || strstr(function, "_M_start_thread") || strstr(function, "execute_native_thread_routine");
    return false;
}

const char *lw_frame_function(struct lw_symbolizer *z, const struct lw_snapshot *s, const struct lw_frame_ref *f)
{
    const struct lw_symres *r = lw_symbolize(z, s, f, false);
    return r->locs[r->n - 1].function;
}

bool lw_frame_is_outer_plumbing(const char *module, const char *function)
{
    const char *b = lw_base_name(module);
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

static bool starts_with(const char *s, const char *p)
{
    return strncmp(s, p, strlen(p)) == 0;
}

/* A frame of a language runtime rather than of the user's code: the C and
 * C++ runtime libraries, code compiled from the toolchain's headers (C++
 * templates instantiated in the user's binary: std::thread's invoker,
 * std::async's state, std::function) or from Rust's standard library
 * (statically linked: its paths are /rustc/<hash>/library/... or
 * library/...), and, for frames without a file, the names those carry.
 * Used to name a thread after its first frame of user code (std::thread,
 * std::jthread, std::async, Rust's thread::spawn all start the user's
 * callable through a few such frames), never for sites. */
bool lw_frame_is_toolchain(const char *module, const char *function, const char *file)
{
    const char *b = module ? lw_base_name(module) : NULL;
    if (b && (is_libc(b) || is_libstdcxx(b) || starts_with(b, "libgcc_s") || starts_with(b, "libm.so")))
        return true;
    if (file)
        return starts_with(file, "/usr/include/") || starts_with(file, "/rustc/") ||
               starts_with(file, "library/std/") || starts_with(file, "library/core/") ||
               starts_with(file, "library/alloc/") || starts_with(file, "library/panic_");
    if (!function)
        return false;
    static const char *const prefixes[] = {"std::", "__gnu_cxx::", "core::", "alloc::", "<std::",
                                           "<core::", "<alloc::", "__rust_", "__gthread", NULL};
    /* C++ template functions print their return type first: "void std::..." */
    const char *sp = strchr(function, ' ');
    const char *paren = strchr(function, '(');
    const char *name = sp && (!paren || sp < paren) && !memchr(function, ':', (size_t)(sp - function)) ? sp + 1
                                                                                                       : function;
    for (const char *const *p = prefixes; *p; p++)
        if (starts_with(name, *p))
            return true;
    return false;
}

/* A start routine that says nothing about the user's code. */
static bool start_is_plumbing(const char *module, const char *function, const char *file)
{
    return !function || is_libstdcxx(lw_base_name(module)) || strstr(function, "execute_native_thread_routine") ||
           lw_frame_is_toolchain(module, function, file) || lw_frame_is_outer_plumbing(module, function);
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
    while (end > 0 && (lw_frame_is_outer_plumbing(st->frames[end - 1].module, st->frames[end - 1].function) ||
                       lw_frame_is_toolchain(st->frames[end - 1].module, st->frames[end - 1].function,
                                             st->frames[end - 1].file)))
        end--;
    size_t begin = 0;
    while (begin < end && is_libstdcxx(lw_base_name(st->frames[begin].module)) && st->frames[begin].function &&
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

/* Rust closures ("f::{{closure}}") and C++ lambdas ("f()::{lambda()#1}"). */
static bool is_closure(const char *function)
{
    return strstr(function, "{{closure}}") || strstr(function, "{closure#") || strstr(function, "{lambda(");
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
    if (outer && st.n && st.frames[st.n - 1].function) {
        /* a closure or lambda that only calls the user's function names
         * less than that function: thread::spawn(move || consume(rx)) is
         * "consume" */
        size_t i = st.n - 1;
        while (i > 0 && is_closure(st.frames[i].function) && st.frames[i - 1].function &&
               !lw_frame_is_toolchain(st.frames[i - 1].module, st.frames[i - 1].function, st.frames[i - 1].file))
            i--;
        r = lw_xstrdup(st.frames[i].function);
    }
    lw_sym_stack_free(&st);
    return r;
}

/* "std::thread from Session::start()": the caller of the std::thread
 * constructor in a creation stack; otherwise, when the stack starts in
 * runtime code (std::async, std::jthread, Rust's thread::spawn), "thread
 * from" the first user frame. malloc'd or NULL. */
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
    for (size_t i = 1; i < st.n && !r; i++) {
        const struct lw_sym_frame *f = &st.frames[i];
        if (f->function && !lw_frame_is_toolchain(f->module, f->function, f->file)) {
            if (lw_frame_is_toolchain(st.frames[0].module, st.frames[0].function, st.frames[0].file))
                r = lw_xasprintf("thread from %s", f->function);
            break;
        }
    }
    lw_sym_stack_free(&st);
    return r;
}

static bool is_threading_py(const char *file)
{
    size_t n = file ? strlen(file) : 0;
    return n >= 12 && strcmp(file + n - 12, "threading.py") == 0 && (n == 12 || file[n - 13] == '/');
}

void lw_py_stack(const struct lw_snap_python *py, struct lw_sym_stack *out)
{
    out->n = 0;
    out->frames = NULL;
    if (!py || !py->n)
        return;
    out->frames = lw_xcalloc(py->n, sizeof(*out->frames));
    for (size_t i = 0; i < py->n; i++) {
        const struct lw_snap_pyframe *f = &py->frames[i];
        /* Thread.start and the threads' own bootstrap are the runtime's */
        if (is_threading_py(f->file))
            continue;
        out->frames[out->n++] = (struct lw_sym_frame){
            .function = lw_xstrdup(f->function),
            .file = lw_xstrdup(f->file),
            .line = f->line > 0 && f->line < 1 << 30 ? (int)f->line : 0,
        };
    }
    if (!out->n) {
        free(out->frames);
        out->frames = NULL;
    }
}

char *lw_thread_entry(struct lw_symbolizer *z, const struct lw_snapshot *s, int64_t tid, bool has_start,
                      const struct lw_frame_ref *start)
{

    const struct lw_symres *sr = has_start ? lw_symbolize(z, s, start, false) : NULL;
    const char *fn = sr ? sr->locs[sr->n - 1].function : NULL;
    const char *file = sr ? sr->locs[sr->n - 1].file : NULL;
    const char *mod = has_start && start->module >= 0 ? s->modules[start->module].path : NULL;
    if (fn && !start_is_plumbing(mod, fn, file))
        return lw_xstrdup(fn);
    /* A thread started from Python runs its threading.Thread's target
     * (its start routine is the interpreter's, plumbing) */
    for (size_t i = 0; tid > 0 && i < s->nthreads; i++)
        if (s->threads[i].tid == tid && s->threads[i].python && s->threads[i].python->target)
            return lw_xstrdup(s->threads[i].python->target);
    if (!has_start || tid <= 0)
        return NULL;
    /* 1. The thread's own blocked stack, when it reaches the start. */
    const struct lw_snap_thread *self = NULL;
    for (size_t i = 0; i < s->nthreads; i++)
        if (s->threads[i].tid == tid && (!self || s->threads[i].state != LW_TS_EXITED))
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

size_t lw_stack_symbolize_ex(struct lw_symbolizer *z, const struct lw_snapshot *s, int si, struct lw_sym_stack *out)
{
    out->n = 0;
    out->frames = NULL;
    if (si < 0)
        return 0;
    const struct lw_snap_stack *st = &s->stacks[si];
    size_t cap = 0;
    for (size_t i = 0; i < st->n; i++) {
        const struct lw_frame_ref *f = &st->frames[i];
        const struct lw_symres *r = lw_symbolize(z, s, f, i > 0);
        for (size_t k = 0; k < r->n; k++) {
            if (out->n == cap) {
                cap = cap ? cap * 2 : 16;
                out->frames = lw_xrealloc(out->frames, cap * sizeof(*out->frames));
            }
            const struct lw_symloc *l = &r->locs[k];
            out->frames[out->n++] = (struct lw_sym_frame){
                .ip = f->ip,
                .function = lw_xstrdup(l->function),
                .file = lw_xstrdup(l->file),
                .line = l->line,
                .module = lw_xstrdup(r->module),
                .offset = f->offset,
                .inlined = l->inlined,
            };
        }
    }
    /* The shim's own frames and the thread-start plumbing say nothing
     * about the user's code (lw_frames.c). */
    return lw_sym_stack_trim(out);
}

void lw_stack_symbolize(struct lw_symbolizer *z, const struct lw_snapshot *s, int si, struct lw_sym_stack *out)
{
    (void)lw_stack_symbolize_ex(z, s, si, out);
}

void lw_sym_stack_free(struct lw_sym_stack *st)
{
    for (size_t i = 0; i < st->n; i++) {
        free(st->frames[i].function);
        free(st->frames[i].file);
        free(st->frames[i].module);
    }
    free(st->frames);
    st->frames = NULL;
    st->n = 0;
}
