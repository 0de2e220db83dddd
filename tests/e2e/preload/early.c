/* early.c — linked against libearly_fixture.so (constructor thread). */
#include <leakwatch.h>
#include <stdio.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    usleep(50000);
    if (argc > 1 && leakwatch_snapshot(argv[1]) != 0)
        fprintf(stderr, "early: snapshot failed\n");
    return 0;
}
