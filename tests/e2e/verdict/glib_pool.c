/* glib_pool.c — a GLib thread pool in shared mode: freeing the pool hands
 * its threads back to GLib's process-wide pool of unused threads, which
 * GLib keeps (and never lets the program join). With the default
 * suppressions the gate passes. */
#include <glib.h>
#include <stdio.h>

static void job(gpointer data, gpointer user)
{
    (void)user;
    g_atomic_int_inc((gint *)data);
}

int main(void)
{
    gint done = 0;
    GThreadPool *pool = g_thread_pool_new(job, NULL, 3, FALSE, NULL);
    for (int i = 0; i < 50; i++)
        g_thread_pool_push(pool, &done, NULL);
    g_thread_pool_free(pool, FALSE, TRUE);
    printf("done=%d\n", g_atomic_int_get(&done));
    return 0;
}
