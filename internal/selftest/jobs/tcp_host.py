# The suite listens on the host's 127.0.0.1:PORT; the job's 127.0.0.1 is
# its own loopback, where nothing listens on that port.
import socket

from attack import attempt, target

port = target()["host_port"]


def connect():
    with socket.create_connection(("127.0.0.1", port), timeout=3):
        pass


attempt("tcp_host_loopback", connect)
