-- POSTs that each present one of the values in $BENCH_FILE (thread_inputs
-- in inputs.lua), cycling through them: reusable inputs such as tokens to
-- verify, so lookups spread over many rows.
-- $BENCH_BODY holds the placeholder {VALUE}, $BENCH_CT the content type.
-- An answer without the text $BENCH_EXPECT counts in `inactive`.
local inputs, idx = {}, 0
local before, after
local expect = os.getenv("BENCH_EXPECT")
inactive = 0

function init(args)
  inputs = thread_inputs()
  before, after = body_around_value()
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
