-- threads given as a string instead of an integer.
threads = "2"
bootstrap = "testmod"
