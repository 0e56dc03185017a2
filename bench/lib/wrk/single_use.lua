-- POSTs that each spend one single-use input (an authorization code) read
-- from $BENCH_FILE, one per line; thread `tid` takes every line i with
-- i % $BENCH_THREADS == tid. $BENCH_BODY holds the placeholder {VALUE}.
-- When a thread runs out it stops, and records when.
local inputs, idx = {}, 0
local before, after
exhausted = 0

function init(args)
  local n = tonumber(os.getenv("BENCH_THREADS"))
  local i = 0
  for line in io.lines(os.getenv("BENCH_FILE")) do
    if line ~= "" then
      if i % n == tid then inputs[#inputs + 1] = line end
      i = i + 1
    end
  end
  local body = os.getenv("BENCH_BODY")
  local s, e = string.find(body, "{VALUE}", 1, true)
  before, after = string.sub(body, 1, s - 1), string.sub(body, e + 1)
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
