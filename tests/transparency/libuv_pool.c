/* libuv_pool.c — a clean libuv program that uses libuv's threadpool.
 *
 * uv_queue_work starts libuv's global pool (4 workers) and its signal
 * pipe; libuv.so's own destructor joins the workers and closes the pipe
 * when the process exits. Nothing is leaked, so the gate must pass it: the
 * exit snapshot has to be taken after every other library's teardown.
 */
#include <stdio.h>
#include <uv.h>

static int done;

static void work(uv_work_t *req)
{
    (void)req;
}

static void after(uv_work_t *req, int status)
{
    (void)req;
    if (status == 0)
        done++;
}

int main(void)
{
    uv_loop_t *loop = uv_default_loop();
    uv_work_t reqs[8];
    for (int i = 0; i < 8; i++)
        if (uv_queue_work(loop, &reqs[i], work, after) != 0)
            return 1;
    uv_run(loop, UV_RUN_DEFAULT);
    if (uv_loop_close(loop) != 0)
        return 1;
    printf("done %d\n", done);
    return done == 8 ? 0 : 1;
}
