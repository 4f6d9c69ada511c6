# 192.0.2.1 is TEST-NET-1 (RFC 5737). The sandbox's network namespace has
# only lo and no route, so connect fails with ENETUNREACH before any packet
# is sent. The suite uses this address rather than a metadata address such
# as 169.254.169.254 so that nothing is ever aimed at a real service.
import socket

from attack import attempt


def connect():
    with socket.create_connection(("192.0.2.1", 80), timeout=3):
        pass


attempt("tcp_off_host", connect)
