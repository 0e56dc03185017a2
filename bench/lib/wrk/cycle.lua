-- POSTs that each present one of the values in $BENCH_FILE (one per line,
-- split over threads as in single_use.lua), cycling through them: reusable
-- inputs such as tokens to verify, so lookups spread over many rows.
-- $BENCH_BODY holds the placeholder {VALUE}, $BENCH_CT the content type.
-- An answer without the text $BENCH_EXPECT counts in `inactive`.
local inputs, idx = {}, 0
local before, after
local expect = os.getenv("BENCH_EXPECT")
inactive = 0

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
  wrk.headers["Content-Type"] = os.getenv("BENCH_CT") or "application/x-www-form-urlencoded"
end

function request()
  idx = idx % #inputs + 1
  return wrk.format("POST", nil, nil, before .. inputs[idx] .. after)
end

function response(status, headers, body)
  if expect and not string.find(body, expect, 1, true) then
    inactive = inactive + 1
  end
end
