/* symfix.c — a symbolization fixture for the analyzer tests. Built with -g
 * (PIE, -O1); when run it writes a snapshot of itself (module = its own
 * executable with its real load base and build-id) whose stacks hold real
 * return addresses: one inside an always_inline helper inlined into
 * outer_fn, called from handle_request. An extra top-level "expect" object
 * (readers ignore unknown keys) carries the source lines the analyzer must
 * find. Never starts threads: the records describe a made-up process.
 */
#define _GNU_SOURCE 1
#include <elf.h>
#include <link.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void *cpp_tick_addr(void);  /* symfix_cpp.cpp: &demo::Worker::tick */

static uintptr_t captured[4];
/* Source lines of the two calls, recorded on the same line as the call. */
static volatile int inline_line, outer_call_line;
static uintptr_t base;
static char build_id[80];

__attribute__((noinline)) void *fake_pthread_create(void *arg)
{
    captured[0] = (uintptr_t)__builtin_return_address(0);
    __asm__ volatile("" ::: "memory");
    return arg;
}

static inline __attribute__((always_inline)) void *inl_helper(void *arg)
{
    inline_line = __LINE__; return fake_pthread_create(arg);
}

__attribute__((noinline)) void *outer_fn(void *arg)
{
    outer_call_line = __LINE__; void *r = inl_helper(arg);
    captured[1] = (uintptr_t)__builtin_return_address(0);
    __asm__ volatile("" ::: "memory");
    return r;
}

__attribute__((noinline)) void *handle_request(void *arg)
{
    void *r = outer_fn(arg);
    __asm__ volatile("" ::: "memory");
    return r;
}

__attribute__((noinline)) void *poller_main(void *arg) { __asm__ volatile("" ::: "memory"); return arg; }
__attribute__((noinline)) void *worker_main(void *arg) { __asm__ volatile("" ::: "memory"); return arg; }

static int phdr_cb(struct dl_phdr_info *info, size_t size, void *data)
{
    (void)size;
    (void)data;
    base = info->dlpi_addr;  /* the first object is the executable */
    for (int i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        if (ph->p_type != PT_NOTE)
            continue;
        const char *p = (const char *)(info->dlpi_addr + ph->p_vaddr), *end = p + ph->p_memsz;
        while (p + sizeof(ElfW(Nhdr)) <= end) {
            const ElfW(Nhdr) *n = (const void *)p;
            const char *name = p + sizeof(*n), *desc = name + ((n->n_namesz + 3) & ~3u);
            if (n->n_type == NT_GNU_BUILD_ID && n->n_namesz == 4 && memcmp(name, "GNU", 4) == 0) {
                for (unsigned k = 0; k < n->n_descsz && k < 32; k++)
                    sprintf(build_id + 2 * k, "%02x", (unsigned char)desc[k]);
                return 1;
            }
            p = desc + ((n->n_descsz + 3) & ~3u);
        }
    }
    return 1;
}

static void frame(FILE *f, uintptr_t ip)
{
    fprintf(f, "{\"ip\":%lu,\"module\":0,\"offset\":%lu}", (unsigned long)ip, (unsigned long)(ip - base));
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: symfix OUT.json [build-id override]\n");
        return 2;
    }
    handle_request(NULL);
    /* captured[2]: a return address inside handle_request (its call of
     * outer_fn): the next instruction after the call. */
    captured[2] = (uintptr_t)__builtin_extract_return_addr(__builtin_return_address(0));
    dl_iterate_phdr(phdr_cb, NULL);
    char exe[4096];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    exe[n > 0 ? n : 0] = 0;
    const char *bid = argc > 2 ? argv[2] : build_id;
    FILE *f = fopen(argv[1], "w");
    if (!f)
        return 2;
    fprintf(f, "{\"leakwatch_schema\":1,\"pid\":%d,\"exe\":\"%s\",\"trigger\":\"signal\",", (int)getpid(), exe);
    fprintf(f, "\"taken_at\":{\"realtime_ns\":1,\"monotonic_ns\":10000000000},");
    fprintf(f, "\"expect\":{\"inline_line\":%d,\"outer_call_line\":%d,\"file\":\"symfix.c\"},",
            inline_line, outer_call_line);
    fprintf(f, "\"modules\":[{\"path\":\"%s\",\"base\":%lu,\"start\":%lu,\"end\":%lu,\"build_id\":\"%s\"}],", exe,
            (unsigned long)base, (unsigned long)base, (unsigned long)base + 1, bid);
    fprintf(f, "\"stacks\":[[");
    frame(f, (uintptr_t)&fake_pthread_create);
    fputc(',', f);
    frame(f, captured[0]);
    fputc(',', f);
    frame(f, captured[1]);
    fprintf(f, "]],\"contexts\":[");
    fprintf(f, "{\"id\":1,\"parent\":null,\"label\":null,\"kind\":\"root\",\"owner_tid\":%d,\"owner_start\":null,"
               "\"created_ns\":0,\"cancelled_ns\":null,\"cause\":null,\"cancel_origin\":null,\"background\":false},",
            (int)getpid());
    fprintf(f, "{\"id\":2,\"parent\":1,\"label\":\"req-7\",\"kind\":\"thread\",\"owner_tid\":4102,\"owner_start\":");
    frame(f, (uintptr_t)&handle_request);
    fprintf(f, ",\"created_ns\":1,\"cancelled_ns\":5000000000,\"cause\":\"exited\",\"cancel_origin\":2,"
               "\"background\":false},");
    fprintf(f, "{\"id\":3,\"parent\":2,\"label\":null,\"kind\":\"thread\",\"owner_tid\":4121,\"owner_start\":");
    frame(f, (uintptr_t)&worker_main);
    fprintf(f, ",\"created_ns\":2,\"cancelled_ns\":5000000000,\"cause\":\"exited\",\"cancel_origin\":2,"
               "\"background\":false},");
    fprintf(f, "{\"id\":4,\"parent\":3,\"label\":null,\"kind\":\"thread\",\"owner_tid\":4130,\"owner_start\":");
    frame(f, (uintptr_t)&poller_main);
    fprintf(f, ",\"created_ns\":3,\"cancelled_ns\":5000000000,\"cause\":\"exited\",\"cancel_origin\":2,"
               "\"background\":false},");
    fprintf(f, "{\"id\":5,\"parent\":3,\"label\":null,\"kind\":\"thread\",\"owner_tid\":4131,\"owner_start\":");
    frame(f, (uintptr_t)cpp_tick_addr());
    fprintf(f, ",\"created_ns\":3,\"cancelled_ns\":5000000000,\"cause\":\"exited\",\"cancel_origin\":2,"
               "\"background\":false}],");
    fprintf(f, "\"threads\":[{\"tid\":%d,\"kind\":\"main\",\"name\":\"symfix\",\"start_routine\":null,"
               "\"created_ns\":null,\"creator_tid\":null,\"context\":1,\"creation_stack\":null,\"state\":\"running\","
               "\"blocked\":null},",
            (int)getpid());
    fprintf(f, "{\"tid\":4130,\"kind\":\"tracked\",\"name\":\"poller\",\"start_routine\":");
    frame(f, (uintptr_t)&poller_main);
    fprintf(f, ",\"created_ns\":3,\"creator_tid\":4121,\"context\":4,\"creation_stack\":0,\"state\":\"blocked\","
               "\"blocked\":{\"call\":\"nanosleep\",\"family\":\"sleep\",\"source\":\"intercepted\",\"object\":null,"
               "\"fd\":null,\"fds\":[],\"object_owner\":null,\"holder_tid\":null,\"join_target_tid\":null,"
               "\"since_ns\":9900000000,\"timeout_ns\":100000000,\"stack\":0,\"caller\":null},"
               "\"waits\":60,\"wakes_since_cancel\":49,\"exited_ns\":null,\"exit\":null,\"joined\":false,"
               "\"detached\":false,\"cancel_requested_ns\":null,\"attributed_to\":null},");
    fprintf(f, "{\"tid\":4131,\"kind\":\"tracked\",\"name\":\"ticker\",\"start_routine\":");
    frame(f, (uintptr_t)cpp_tick_addr());
    fprintf(f, ",\"created_ns\":3,\"creator_tid\":4121,\"context\":5,\"creation_stack\":0,\"state\":\"running\","
               "\"blocked\":null,\"waits\":5,\"wakes_since_cancel\":3,\"exited_ns\":null,\"exit\":null,"
               "\"joined\":false,\"detached\":false,\"cancel_requested_ns\":null,\"attributed_to\":null}],");
    fprintf(f, "\"timers\":[],\"sockets\":[]}\n");
    return fclose(f) == 0 ? 0 : 2;
}
