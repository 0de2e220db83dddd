"""A socketserver.ThreadingMixIn server whose handler starts a background
poller that outlives the request (the leak under test), driven by a real,
unmodified Python client in the same process. Run under the preload by
tests/e2e/sockets/run.py; prints key=value facts, then asks for a snapshot
with the snapshot signal (SIGUSR2) and waits for the file."""
import glob
import os
import signal
import socket
import socketserver
import sys
import threading
import time

out_dir = sys.argv[1]
facts = {}
ready = threading.Event()


def poller(sock):
    facts["poller_tid"] = threading.get_native_id()
    facts["poller_fd"] = sock.fileno()
    ready.set()
    while sock.recv(16):  # blocking recv, no timeout: the peer never speaks
        pass


class Handler(socketserver.StreamRequestHandler):
    def handle(self):
        line = self.rfile.readline()
        facts["handler_tid"] = threading.get_native_id()
        a, b = socket.socketpair()
        Handler.keep = (a, b)  # keep the peer open so recv blocks forever
        threading.Thread(target=poller, args=(a,), daemon=True).start()
        ready.wait(5)
        self.wfile.write(line.upper())


class Server(socketserver.ThreadingMixIn, socketserver.TCPServer):
    daemon_threads = True
    allow_reuse_address = True


srv = Server(("127.0.0.1", 0), Handler)
threading.Thread(target=srv.serve_forever, daemon=True).start()
with socket.create_connection(srv.server_address, timeout=5) as c:
    c.sendall(b"hello\n")
    reply = c.makefile("rb").readline()
facts["reply"] = reply.decode().strip()
time.sleep(0.3)  # the handler thread has returned by now
for k, v in facts.items():
    print(f"{k}={v}", flush=True)
os.kill(os.getpid(), signal.SIGUSR2)
deadline = time.time() + 10
while time.time() < deadline and not glob.glob(os.path.join(out_dir, "*.json")):
    time.sleep(0.02)
print("snapshots=%d" % len(glob.glob(os.path.join(out_dir, "*.json"))), flush=True)
os._exit(0)
