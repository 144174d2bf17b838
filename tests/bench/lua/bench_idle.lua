-- A minimal Lua service: it answers raw requests, and is otherwise idle.
sky.dispatch(function(m) return m.data end)
