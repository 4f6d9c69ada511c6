import ctypes
import struct

from attack import attempt, syscall

BPF_MAP_CREATE = 0
BPF_MAP_TYPE_ARRAY = 2

# union bpf_attr for BPF_MAP_CREATE: map_type, key_size, value_size,
# max_entries; the rest stays zero.
attr = (ctypes.c_char * 128)()
struct.pack_into("IIII", attr, 0, BPF_MAP_TYPE_ARRAY, 4, 4, 1)
attempt("bpf_map_create", lambda: syscall("bpf", BPF_MAP_CREATE, attr, ctypes.sizeof(attr)))
