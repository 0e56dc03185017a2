-- Refresh-token rotation chains: each request spends a refresh token and
-- each answer brings its successor, which goes back on this thread's queue.
-- Starting tokens come from $BENCH_FILE (thread_inputs in inputs.lua);
-- $BENCH_BODY holds the placeholder {VALUE}.
local queue, head, tail = {}, 1, 0
local before, after
exhausted = 0

function init(args)
  queue = thread_inputs()
  tail = #queue
  before, after = body_around_value()
  wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
end

function request()
  if t_first == nil then t_first = now_us() end
  local v = queue[head]
  if v == nil then
    -- Every chain broke (errors): stop rather than send garbage.
    if t_stop == nil then t_stop = now_us() end
    exhausted = exhausted + 1
    wrk.thread:stop()
    v = "exhausted"
  else
    queue[head] = nil
    head = head + 1
  end
  return wrk.format("POST", nil, nil, before .. v .. after)
end

function response(status, headers, body)
  local rt = string.match(body, '"refresh_token"%s*:%s*"([^"]+)"')
  if rt then
    tail = tail + 1
    queue[tail] = rt
  end
end
