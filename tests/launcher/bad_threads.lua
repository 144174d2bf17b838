-- threads out of range: must be 1..1024.
threads = 0
bootstrap = "testmod"
