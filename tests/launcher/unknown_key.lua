-- a misspelt key: `thread` instead of `threads`.
thread = 2
bootstrap = "testmod"
