/* omp.c — an ordinary OpenMP program: libgomp keeps main's thread pool
 * until the process ends and gives the program no way to join it. With
 * the default suppressions the gate passes. */
#include <omp.h>
#include <stdio.h>

int main(void)
{
    double sum = 0;
#pragma omp parallel for reduction(+ : sum) num_threads(3)
    for (int i = 1; i <= 100000; i++)
        sum += 1.0 / i;
    printf("sum=%.6f threads=%d\n", sum, omp_get_max_threads());
    return 0;
}
