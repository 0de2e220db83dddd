"""wl_pyqueue.py — workload: many Python threads on one queue.Queue, the
shape of CPython's test_queue test_many_threads* (50 feeders and 50
consumers, one queue, feeders sleeping up to 1 ms at random half the time).

Run with the system's python3 (bench/run.py uses /usr/bin/python3): its
locks are glibc semaphores (sem_wait, sem_clockwait for a timeout, sem_init
and sem_destroy for every lock a Condition.wait allocates) and its GIL a
mutex and condition variables, so it drives the contended paths of a shim.

    python3 bench/wl_pyqueue.py MODE ITEMS [THREADS]
    MODE: block (q.get()), nonblock (q.get(block=False), sleep 10 us when
    empty) or timeout (q.get(timeout=1e-5)), as in the three CPython tests.

Prints the one line bench/run.py reads: "bench pyqueue_MODE ops=ITEMS
elapsed_ns=... cpu_ns=..." (CPU time of the whole process, all threads).
Only the standard library; a fixed seed (the threads share one generator,
as in the CPython test, so which feeder sleeps varies from run to run).
"""
import queue
import random
import resource
import sys
import threading
import time


def feed(q, seq, rnd):
    while True:
        try:
            val = seq.pop()
        except IndexError:
            return
        q.put(val)
        if rnd.random() > 0.5:
            time.sleep(rnd.random() * 1e-3)


def consume_block(q, results, sentinel):
    while True:
        val = q.get()
        if val == sentinel:
            return
        results.append(val)


def consume_nonblock(q, results, sentinel):
    while True:
        while True:
            try:
                val = q.get(block=False)
            except queue.Empty:
                time.sleep(1e-5)
            else:
                break
        if val == sentinel:
            return
        results.append(val)


def consume_timeout(q, results, sentinel):
    while True:
        while True:
            try:
                val = q.get(timeout=1e-5)
            except queue.Empty:
                pass
            else:
                break
        if val == sentinel:
            return
        results.append(val)


CONSUMERS = {"block": consume_block, "nonblock": consume_nonblock, "timeout": consume_timeout}


def cpu_ns():
    ru = resource.getrusage(resource.RUSAGE_SELF)
    return int((ru.ru_utime + ru.ru_stime) * 1e9)


def main():
    if len(sys.argv) < 3 or sys.argv[1] not in CONSUMERS:
        sys.exit("usage: wl_pyqueue.py block|nonblock|timeout ITEMS [THREADS]")
    mode, items = sys.argv[1], int(sys.argv[2])
    nthreads = int(sys.argv[3]) if len(sys.argv) > 3 else 50
    q = queue.Queue()
    inputs = list(range(items))
    seq = inputs[::-1]
    rnd = random.Random(42)
    results = []
    sentinel = None
    feeders = [threading.Thread(target=feed, args=(q, seq, rnd)) for _ in range(nthreads)]
    consumers = [threading.Thread(target=CONSUMERS[mode], args=(q, results, sentinel))
                 for _ in range(nthreads)]
    w0, c0 = time.monotonic_ns(), cpu_ns()
    for t in feeders + consumers:
        t.start()
    for t in feeders:
        t.join()
    for _ in consumers:
        q.put(sentinel)
    for t in consumers:
        t.join()
    wall, cpu = time.monotonic_ns() - w0, cpu_ns() - c0
    if sorted(results) != inputs:
        sys.exit(f"pyqueue: {len(results)} results, expected {items}")
    print(f"bench pyqueue_{mode} ops={items} elapsed_ns={wall} cpu_ns={cpu} "
          f"ops_per_s={items / (wall / 1e9):.0f}", flush=True)


if __name__ == "__main__":
    main()
