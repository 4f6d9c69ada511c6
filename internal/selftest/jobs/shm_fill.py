from attack import attempt, fill

attempt("shm_fill", lambda: fill("/dev/shm/fill"))
