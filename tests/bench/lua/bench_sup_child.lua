-- supervisor_restart_us's child: "ping" -> "pong"; "crash" exits with an
-- error. From its init it tells the driver (bench_super.c) it is ready.
sky.register("bench_sup_child")
if sky.whereis("bench_sup_driver") then sky.rawsend("bench_sup_driver", 3, "ready") end

sky.dispatch(function(m)
    if m.data == "crash" then return sky.exit("error", "crash") end
    return "pong"
end)
