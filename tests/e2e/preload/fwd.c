/* fwd.c — a do-nothing forwarding interposer: the reference the shim's
 * overhead is measured against (same interposed names on the hot paths,
 * each only calls the real function through a cached pointer). */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <pthread.h>

#define FWD(ret, name, params, args)                                                      \
    ret name params                                                                       \
    {                                                                                     \
        static ret(*real) params;                                                         \
        if (!real)                                                                        \
            *(void **)&real = dlsym(RTLD_NEXT, #name);                                    \
        return real args;                                                                 \
    }
#define FWDV(ret, name, params, args)                                                     \
    ret name params                                                                       \
    {                                                                                     \
        static ret(*real) params;                                                         \
        if (!real)                                                                        \
            *(void **)&real = dlvsym(RTLD_NEXT, #name, "GLIBC_2.3.2");                    \
        return real args;                                                                 \
    }

FWD(int, pthread_create, (pthread_t * t, const pthread_attr_t *a, void *(*f)(void *), void *x),
    (t, a, f, x))
FWD(int, pthread_join, (pthread_t t, void **r), (t, r))
FWD(int, pthread_mutex_lock, (pthread_mutex_t * m), (m))
FWDV(int, pthread_cond_wait, (pthread_cond_t * c, pthread_mutex_t *m), (c, m))
FWDV(int, pthread_cond_signal, (pthread_cond_t * c), (c))
