# The kernel keyring is not namespaced: keys of the host or of other jobs
# would be reachable through it.
import ctypes

from attack import attempt, syscall

KEYCTL_GET_KEYRING_ID = 0
KEY_SPEC_SESSION_KEYRING = -3

attempt("keyctl", lambda: syscall("keyctl", KEYCTL_GET_KEYRING_ID, KEY_SPEC_SESSION_KEYRING, 1))
attempt("add_key", lambda: syscall(
    "add_key",
    ctypes.create_string_buffer(b"user"),
    ctypes.create_string_buffer(b"moat-selftest"),
    ctypes.create_string_buffer(b"x"),
    1,
    KEY_SPEC_SESSION_KEYRING,
))
