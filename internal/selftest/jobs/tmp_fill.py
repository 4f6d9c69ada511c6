from attack import attempt, fill

attempt("tmp_fill", lambda: fill("/tmp/fill"))
