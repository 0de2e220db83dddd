# py_threads.py — Python threading under the preload: a worker started by a
# request thread keeps polling an Event after the request thread returned.
import ctypes, sys, threading, time

stop = threading.Event()

def poller():
    while not stop.wait(0.05):  # a 50 ms deadline: sem_clockwait(CLOCK_MONOTONIC)
        pass

def request():
    threading.Thread(target=poller, name="py-poller", daemon=True).start()

r = threading.Thread(target=request, name="py-request")
r.start()
r.join()
time.sleep(0.1)
lib = ctypes.CDLL(None)
api = None
try:
    fn = lib.leakwatch_api_v1
except AttributeError:
    print("no leakwatch", file=sys.stderr)
    sys.exit(3)
# struct leakwatch_api_v1 { size_t size; int (*active)(void); int (*snapshot)(const char*); ...}
table = ctypes.cast(ctypes.addressof(ctypes.c_char.in_dll(lib, "leakwatch_api_v1")),
                    ctypes.POINTER(ctypes.c_void_p))
snapshot = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_char_p)(table[2])
rc = snapshot(sys.argv[1].encode())
stop.set()
sys.exit(0 if rc == 0 else 1)
