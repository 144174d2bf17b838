#!/usr/bin/env escript
%% supervisor_restart_us in Erlang, for the ratio in `make bench`: a
%% one_for_one supervisor of one registered gen_server; the time from a
%% cast that makes the child crash until a restarted child answers a call.
%% The same shape as tests/bench/bench_super.c.
%%
%%   escript tests/bench/sup_bench.erl
-module(sup_bench).
-mode(compile).
%% a supervisor (init(sup)) and a gen_server (init(child)) in one module
-export([main/1, init/1, start_child/0, handle_call/3, handle_cast/2]).

-define(N, 3000).
-define(WARM, 100).
-define(CHILD, bench_sup_child).

main(_) ->
    %% crash reports are not what is measured (sky's bench logs warnings only)
    logger:set_primary_config(level, none),
    {ok, _} = supervisor:start_link({local, bench_sup}, ?MODULE, sup),
    [restart_once() || _ <- lists:seq(1, ?WARM)],
    Ts = lists:sort([restart_once() || _ <- lists:seq(1, ?N)]),
    io:format("supervisor_restarts ~b~n", [?N]),
    io:format("supervisor_restart_us ~.3f~n", [lists:sum(Ts) / ?N]),
    io:format("supervisor_restart_median_us ~.3f~n", [lists:nth(?N div 2 + 1, Ts)]),
    io:format("supervisor_restart_p99_us ~.3f~n", [lists:nth(?N * 99 div 100 + 1, Ts)]).

%% One crash and restart, timed: microseconds. The measuring process
%% sleeps until the old child is down (it must not spin on a scheduler the
%% supervisor needs), then polls for the new one.
restart_once() ->
    Old = whereis(?CHILD),
    Ref = monitor(process, Old),
    T0 = erlang:monotonic_time(nanosecond),
    gen_server:cast(Old, crash),
    receive {'DOWN', Ref, process, Old, _} -> ok end,
    wait_new(Old),
    (erlang:monotonic_time(nanosecond) - T0) / 1000.

wait_new(Old) ->
    case whereis(?CHILD) of
        P when is_pid(P), P =/= Old ->
            case catch gen_server:call(P, ping, 1000) of
                pong -> ok;
                _ -> wait_new(Old)
            end;
        _ ->
            erlang:yield(),
            wait_new(Old)
    end.

%% the supervisor
init(sup) ->
    {ok, {#{strategy => one_for_one, intensity => 1000000, period => 1},
          [#{id => child, start => {?MODULE, start_child, []}}]}};
%% the child
init(child) ->
    {ok, nil}.

start_child() -> gen_server:start_link({local, ?CHILD}, ?MODULE, child, []).

handle_call(ping, _From, S) -> {reply, pong, S}.

handle_cast(crash, S) -> {stop, crash, S}.
