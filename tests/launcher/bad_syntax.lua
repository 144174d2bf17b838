-- a Lua syntax error on line 3.
bootstrap = "testmod"
threads = = 2
