# A user namespace would give the job a root that owns new namespaces; the
# sandbox must refuse it before the fork bomb starts.
from attack import attempt, check, fork_bomb, libc

CLONE_NEWUSER = 0x10000000

attempt("unshare_user", lambda: check(libc.unshare(CLONE_NEWUSER)))
fork_bomb()
