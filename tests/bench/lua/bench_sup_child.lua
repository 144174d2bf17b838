-- supervisor_restart_us's child: "ping" -> "pong"; "crash" exits with an error.
sky.register("bench_sup_child")

sky.dispatch(function(m)
    if m.data == "crash" then return sky.exit("error", "crash") end
    return "pong"
end)
