/* uv_pool.c — libuv's threadpool, started lazily by uv_queue_work and kept
 * for the life of the process. With the default suppressions the gate
 * passes. */
#include <stdio.h>
#include <uv.h>

static int done;

static void work(uv_work_t *w)
{
    (void)w;
}

static void after(uv_work_t *w, int status)
{
    (void)w;
    (void)status;
    done++;
}

int main(void)
{
    uv_loop_t *loop = uv_default_loop();
    uv_work_t w[8];
    for (int i = 0; i < 8; i++)
        uv_queue_work(loop, &w[i], work, after);
    uv_run(loop, UV_RUN_DEFAULT);
    uv_loop_close(loop);
    printf("done=%d\n", done);
    return 0;
}
