-- Prepended to every load script (after clock.lua): helpers for the scripts
-- that POST values read from $BENCH_FILE, one per line.

-- This thread's share of the lines: thread `tid` (set by done.lua's setup)
-- takes every line i with i % $BENCH_THREADS == tid.
function thread_inputs()
  local n = tonumber(os.getenv("BENCH_THREADS"))
  local mine, i = {}, 0
  for line in io.lines(os.getenv("BENCH_FILE")) do
    if line ~= "" then
      if i % n == tid then mine[#mine + 1] = line end
      i = i + 1
    end
  end
  return mine
end

-- $BENCH_BODY split at its placeholder {VALUE}: what goes before and after.
function body_around_value()
  local body = os.getenv("BENCH_BODY")
  local s, e = string.find(body, "{VALUE}", 1, true)
  return string.sub(body, 1, s - 1), string.sub(body, e + 1)
end
