# DNS over UDP: nothing answers on the sandbox's own 127.0.0.1:53, and
# 192.0.2.53 (TEST-NET-1, RFC 5737) has no route, so sendto fails with
# ENETUNREACH before any packet is sent.
import socket
import struct

from attack import attempt, report

# A query for example.com A: header (id, flags RD, 1 question), then QNAME,
# QTYPE and QCLASS.
QUERY = struct.pack(">HHHHHH", 0x6d6f, 0x0100, 1, 0, 0, 0) + b"\x07example\x03com\x00" + struct.pack(">HH", 1, 1)


def ask_loopback():
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(2)
        s.connect(("127.0.0.1", 53))
        s.send(QUERY)
        s.recv(512)


def ask_off_host():
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.sendto(QUERY, ("192.0.2.53", 53))


try:
    attempt("udp_loopback_53", ask_loopback)
except TimeoutError:
    report("udp_loopback_53", "TIMEOUT")
attempt("udp_off_host_53", ask_off_host)
