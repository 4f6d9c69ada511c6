import socket

from attack import attempt

ETH_P_ALL = 0x0003


def open_socket(family, kind, proto):
    socket.socket(family, kind, proto).close()


attempt("raw_icmp", lambda: open_socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP))
attempt("packet", lambda: open_socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL)))
