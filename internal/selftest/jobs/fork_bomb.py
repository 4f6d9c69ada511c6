from attack import fork_bomb

fork_bomb()
