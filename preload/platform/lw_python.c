/* lw_python.c — CPython, the one language runtime the shim talks to: where
 * in Python a thread was started (file.py:line in function, from the frames
 * of the thread calling threading.Thread.start) and the threading.Thread's
 * name and target. docs/design.md §3.6. Platform layer: like the real libc
 * functions, CPython's API is found here with dlsym.
 *
 * Owns: finding CPython's public C API at run time (dlsym in the process:
 * the python3 executable or a libpython; no link dependency, nothing is
 * resolved or called in a program without it) and reading the calling
 * thread's Python side into a fixed-size record (core/lw_pyorigin.c keeps
 * those per thread).
 * Must never: call into Python without holding the GIL (PyGILState_Check,
 * and this thread's own thread state), run Python code (only C-level
 * getters: frames, code objects, instance and function dicts), leave a
 * Python exception set, or touch Python at all from a signal handler or
 * the snapshot writer (which only copies the side table).
 */
#include "lw_platform.h"

#include <dlfcn.h>
#include <string.h>

/* CPython's stable, public entry points (3.9+), as untyped pointers. */
static struct {
    int (*is_initialized)(void);
    int (*gil_check)(void);
    void *(*this_thread_state)(void);
    void *(*err_occurred)(void);
    void (*err_clear)(void);
    void *(*get_frame)(void);
    void *(*frame_back)(void *);
    void *(*frame_code)(void *);
    int (*frame_line)(void *);
    void *(*get_locals)(void);
    void *(*getattr)(void *, const char *);
    void *(*dict_get)(void *, const char *);
    const char *(*utf8)(void *);
    long (*as_long)(void *);
    void (*decref)(void *);
    void *none;
} py;
static bool lw_py_found;

bool lw_python_found(void)
{
    return lw_py_found;
}

void lw_python_init(void)
{
#define LW_PY(field, name) ((*(void **)&py.field = dlsym(RTLD_DEFAULT, name)) != NULL)
    /* PyGILState_Check first: a program without Python stops here */
    lw_py_found = LW_PY(gil_check, "PyGILState_Check") && LW_PY(is_initialized, "Py_IsInitialized") &&
                  LW_PY(this_thread_state, "PyGILState_GetThisThreadState") &&
                  LW_PY(err_occurred, "PyErr_Occurred") && LW_PY(err_clear, "PyErr_Clear") &&
                  LW_PY(get_frame, "PyEval_GetFrame") && LW_PY(frame_back, "PyFrame_GetBack") &&
                  LW_PY(frame_code, "PyFrame_GetCode") && LW_PY(frame_line, "PyFrame_GetLineNumber") &&
                  LW_PY(get_locals, "PyEval_GetLocals") && LW_PY(getattr, "PyObject_GetAttrString") &&
                  LW_PY(dict_get, "PyDict_GetItemString") && LW_PY(utf8, "PyUnicode_AsUTF8") &&
                  LW_PY(as_long, "PyLong_AsLong") && LW_PY(decref, "Py_DecRef") &&
                  (py.none = dlsym(RTLD_DEFAULT, "_Py_NoneStruct")) != NULL;
#undef LW_PY
}

/* ---- capture (pthread_create, GIL held) ---- */

static void lw_copy_tail(char *dst, size_t n, const char *src)
{
    size_t len = src ? strlen(src) : 0;
    /* keep the end of a long path: the file name is what matters */
    if (len >= n)
        src += len - (n - 1), len = n - 1;
    if (len)
        memcpy(dst, src, len);
    dst[len] = 0;
}

/* str attribute `name` of obj (a C-level getter), copied; false if none */
static bool lw_py_strattr(void *obj, const char *name, char *dst, size_t n)
{
    void *v = py.getattr(obj, name);
    if (!v) {
        py.err_clear();
        return false;
    }
    const char *s = py.utf8(v);
    if (!s)
        py.err_clear();
    else
        lw_copy_tail(dst, n, s);
    py.decref(v);
    return s != NULL;
}

/* The type name of a Python object (PyObject.ob_type->tp_name: the layout
 * of every non-debug CPython 3 build). */
static const char *lw_py_type_name(void *obj)
{
    void *type = ((void **)obj)[1];
    return type ? ((const char **)type)[3] : NULL;
}

/* The target of a threading.Thread (or a Timer's function): a plain
 * function or method only, whose attributes are C getters. */
static void lw_py_target(struct lw_pyinfo *pi, void *self)
{
    void *d = py.getattr(self, "__dict__");
    if (!d) {
        py.err_clear();
        return;
    }
    void *fn = py.dict_get(d, "_target"); /* borrowed */
    if (!fn || fn == py.none)
        fn = py.dict_get(d, "function"); /* threading.Timer */
    void *name = py.dict_get(d, "_name");
    if (name) {
        const char *s = py.utf8(name);
        if (s)
            lw_copy_tail(pi->name, sizeof pi->name, s);
        else
            py.err_clear();
    }
    const char *tn = fn && fn != py.none ? lw_py_type_name(fn) : NULL;
    void *func = NULL;
    if (tn && strcmp(tn, "method") == 0) {
        func = py.getattr(fn, "__func__");
        if (!func)
            py.err_clear();
    } else if (tn && strcmp(tn, "function") == 0) {
        func = fn;
    }
    if (func && (tn = lw_py_type_name(func)) && strcmp(tn, "function") == 0) {
        lw_py_strattr(func, "__qualname__", pi->target, sizeof pi->target);
        void *code = py.getattr(func, "__code__");
        if (code) {
            lw_py_strattr(code, "co_filename", pi->target_file, sizeof pi->target_file);
            void *line = py.getattr(code, "co_firstlineno");
            if (line) {
                pi->target_line = (int)py.as_long(line);
                py.decref(line);
            }
            py.decref(code);
        }
        if (py.err_occurred())
            py.err_clear();
    }
    if (func && func != fn)
        py.decref(func);
    py.decref(d);
}

bool lw_py_capture(struct lw_pyinfo *pi)
{
    if (!lw_py_found || !py.is_initialized() || !py.gil_check() || !py.this_thread_state() ||
        py.err_occurred())
        return false;
    void *frame = py.get_frame(); /* borrowed */
    if (!frame)
        return false;
    pi->name[0] = pi->target[0] = pi->target_file[0] = 0;
    pi->target_line = 0;
    int n = 0;
    bool owned = false;
    while (frame && n < LW_PY_FRAMES) {
        struct lw_pyframe *f = &pi->frames[n];
        f->file[0] = f->function[0] = 0;
        f->line = py.frame_line(frame);
        void *code = py.frame_code(frame);
        if (code) {
            lw_py_strattr(code, "co_filename", f->file, sizeof f->file);
            if (!lw_py_strattr(code, "co_qualname", f->function, sizeof f->function)) /* 3.11+ */
                lw_py_strattr(code, "co_name", f->function, sizeof f->function);
            py.decref(code);
        }
        /* the innermost frame is Thread.start (its C callee holds the GIL
         * and calls pthread_create): its `self` is the Thread */
        if (n == 0 && strcmp(f->function, "Thread.start") == 0) {
            void *locals = py.get_locals(); /* borrowed: the current frame's */
            void *self = locals ? py.dict_get(locals, "self") : NULL;
            if (!locals)
                py.err_clear();
            if (self)
                lw_py_target(pi, self);
        }
        n++;
        void *back = py.frame_back(frame); /* new reference */
        if (owned)
            py.decref(frame);
        frame = back;
        owned = true;
    }
    if (owned && frame)
        py.decref(frame);
    if (py.err_occurred())
        py.err_clear();
    pi->n = n;
    return true;
}

