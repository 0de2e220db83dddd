"""poller_leak.py — Python example for the README and `make test-examples`.

An unmodified CPython: handle_request runs in a request thread and starts a
daemon poller that sleeps in a loop and never checks a stop flag; the
request thread ends, the poller ticks on. correct_path starts a helper that
waits on an Event, sets it and joins it: never reported.
leakwatch sees CPython's native threads (threading.Thread = pthread_create);
the expected report facts are in poller_leak.expect.

Why the poller sleeps 30 s per tick: at exit CPython ends daemon threads
that try to take the GIL after finalisation began (take_gil ->
PyThread_exit_thread), so a daemon ticking every 50 ms is gone by the time
the exit snapshot is taken; one blocked in a long sleep, a socket read or a
lock without the GIL is still there, as it would be in a long-running
service. To catch the fast ticker, snapshot the running process
(`leakwatch snapshot PID`) instead of relying on the exit snapshot.
"""
import threading
import time


def poll_forever():
    while True:  # the bug: no stop flag
        time.sleep(30)


def handle_request(n):
    threading.Thread(target=poll_forever, name="poller-%d" % n, daemon=True).start()


def correct_path():
    done = threading.Event()
    helper = threading.Thread(target=done.wait)
    helper.start()
    done.set()
    helper.join()


if __name__ == "__main__":
    request = threading.Thread(target=handle_request, args=(1,))
    request.start()
    request.join()
    correct_path()
    time.sleep(0.3)
    print("poller_leak: done")
