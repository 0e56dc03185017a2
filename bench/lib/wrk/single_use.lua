-- POSTs that each spend one single-use input (an authorization code) from
-- $BENCH_FILE (thread_inputs in inputs.lua); $BENCH_BODY holds the
-- placeholder {VALUE}. When a thread runs out it stops, and records when.
local inputs, idx = {}, 0
local before, after
exhausted = 0

function init(args)
  inputs = thread_inputs()
  before, after = body_around_value()
  wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
end

function request()
  if t_first == nil then t_first = now_us() end
  idx = idx + 1
  local v = inputs[idx]
  if v == nil then
    if t_stop == nil then t_stop = now_us() end
    exhausted = exhausted + 1
    wrk.thread:stop()
    v = "exhausted"
  end
  return wrk.format("POST", nil, nil, before .. v .. after)
end
