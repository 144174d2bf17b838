%% The Erlang twins of sky_bench's process-model benchmarks
%% (tests/bench/bench_process.c), run by tests/bench/run.sh next to ours.
%% Build: erlc process_bench.erl   Run: erl -noshell -run process_bench main process
%% Benchmarks: link_exit monitor_down process (both). One "key value" line each.
-module(process_bench).
-export([main/1]).

-define(LINK_N, 1000).
-define(DOWN_N, 20000).

main(Args) ->
    Which = case Args of [] -> "process"; [W | _] -> W end,
    io:format("# erlang otp=~s schedulers=~p~n",
              [erlang:system_info(otp_release), erlang:system_info(schedulers_online)]),
    Run = fun(B) -> Which =:= "process" orelse Which =:= "all" orelse Which =:= B end,
    [link_exit() || Run("link_exit")],
    [monitor_down() || Run("monitor_down")],
    erlang:halt(0).

now_ns() -> erlang:monotonic_time(nanosecond).
out(K, V) when is_float(V) -> io:format("~s ~.3f~n", [K, V]);
out(K, V) -> io:format("~s ~p~n", [K, V]).

%% link_exit_propagation_us: LINK_N processes, each linked to the one
%% before (the link is in place once the one before has answered a ping:
%% signals between two processes keep their order); from exit(First, kill)
%% until the monitor of the last one gets its 'DOWN'.
link_exit() ->
    Main = self(),
    First = spawn(fun() -> link_node() end),
    Last = lists:foldl(fun(_, Prev) ->
                               P = spawn(fun() -> link_to(Prev, Main) end),
                               receive {linked, P} -> P end
                       end, First, lists:seq(2, ?LINK_N)),
    Ref = erlang:monitor(process, Last),
    T0 = now_ns(),
    exit(First, kill),
    receive {'DOWN', Ref, process, Last, killed} -> ok end,
    Us = (now_ns() - T0) / 1.0e3,
    out("link_chain_n", ?LINK_N),
    out("link_exit_propagation_us", Us),
    out("link_exit_per_hop_us", Us / ?LINK_N).

link_to(Prev, Main) ->
    link(Prev),
    Prev ! {ping, self()},
    receive pong -> ok end,
    Main ! {linked, self()},
    link_node().

link_node() ->
    receive {ping, From} -> From ! pong, link_node() end.

%% monitor_down_us: spawn_monitor a child, tell it to stop; the child
%% puts the time it exits in its exit reason; the watcher measures to the
%% moment it receives the 'DOWN'. Median (and mean, p99) over DOWN_N.
monitor_down() ->
    T0 = now_ns(),
    Samples = lists:sort(down_loop(?DOWN_N, [])),
    Total = now_ns() - T0,
    N = length(Samples),
    out("monitor_down_n", N),
    out("monitor_down_us", lists:nth(N div 2 + 1, Samples) / 1.0e3),
    out("monitor_down_mean_us", lists:sum(Samples) / N / 1.0e3),
    out("monitor_down_p99_us", lists:nth(N * 99 div 100 + 1, Samples) / 1.0e3),
    out("monitor_spawn_stop_down_us", Total / N / 1.0e3).

down_loop(0, Acc) -> Acc;
down_loop(K, Acc) ->
    {Pid, Ref} = spawn_monitor(fun() -> receive stop -> exit({stopped, now_ns()}) end end),
    Pid ! stop,
    receive {'DOWN', Ref, process, Pid, {stopped, T}} -> down_loop(K - 1, [now_ns() - T | Acc]) end.
