-- Appended to every load script: numbers each thread, and on exit writes
-- the run's numbers as one JSON object to $BENCH_OUT (latencies in µs).
local threads = {}
local next_tid = 0

function setup(thread)
  thread:set("tid", next_tid)
  next_tid = next_tid + 1
  table.insert(threads, thread)
end

function done(summary, latency, requests)
  local e = summary.errors
  -- Requests sent after a thread ran out of single-use inputs (codes,
  -- refresh tokens) are not the server's errors; the time until the inputs
  -- ran out is the run's real duration.
  local exhausted, inactive, first, last_stop, stopped = 0, 0, nil, 0, 0
  for _, t in ipairs(threads) do
    exhausted = exhausted + (t:get("exhausted") or 0)
    inactive = inactive + (t:get("inactive") or 0)
    local f = t:get("t_first")
    if f and (first == nil or f < first) then first = f end
    local s = t:get("t_stop")
    if s then
      stopped = stopped + 1
      if s > last_stop then last_stop = s end
    end
  end
  local duration_us = summary.duration
  if stopped == #threads and first then
    duration_us = last_stop - first
  end
  local out = assert(io.open(os.getenv("BENCH_OUT"), "w"))
  out:write(string.format(
    '{"requests":%d,"duration_us":%d,"wrk_duration_us":%d,"bytes":%d,' ..
    '"errors_connect":%d,"errors_read":%d,"errors_write":%d,"errors_status":%d,' ..
    '"errors_timeout":%d,"exhausted":%d,"inactive":%d,"p50_us":%d,"p90_us":%d,"p99_us":%d,' ..
    '"max_us":%d,"mean_us":%.1f}\n',
    summary.requests, duration_us, summary.duration, summary.bytes,
    e.connect, e.read, e.write, e.status, e.timeout, exhausted, inactive,
    latency:percentile(50), latency:percentile(90), latency:percentile(99),
    latency.max, latency.mean))
  out:close()
end
