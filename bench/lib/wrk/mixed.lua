-- The soak's mixed load: discovery, JWKS, client_credentials, verify and
-- introspection in turn; verify and introspection present the tokens of
-- $BENCH_FILE in turn (thread_inputs in inputs.lua).
-- $BENCH_AUTH is the client's Basic Authorization header. Answers of
-- verify and introspection without "active":true count in `inactive`.
local tokens, idx, n = {}, 0, 0
local auth = os.getenv("BENCH_AUTH")
inactive = 0

function init(args)
  tokens = thread_inputs()
end

local form = "application/x-www-form-urlencoded"
local kinds = { "discovery", "jwks", "token", "verify", "introspect" }

function request()
  n = n % #kinds + 1
  local kind = kinds[n]
  if kind == "discovery" then
    return wrk.format("GET", "/.well-known/openid-configuration", {})
  elseif kind == "jwks" then
    return wrk.format("GET", "/.well-known/jwks.json", {})
  elseif kind == "token" then
    return wrk.format("POST", "/oauth2/token",
      { ["Authorization"] = auth, ["Content-Type"] = form }, "grant_type=client_credentials")
  end
  idx = idx % #tokens + 1
  if kind == "verify" then
    return wrk.format("POST", "/oauth/token/verify",
      { ["Content-Type"] = "application/json" }, '{"token":"' .. tokens[idx] .. '"}')
  end
  return wrk.format("POST", "/oauth2/introspect",
    { ["Authorization"] = auth, ["Content-Type"] = form }, "token=" .. tokens[idx])
end

function response(status, headers, body)
  -- Answers are not matched to their requests here (a thread has many
  -- connections): a verify or introspection answer is the one that says "active".
  if string.find(body, '"active"', 1, true) and not string.find(body, '"active":true', 1, true) then
    inactive = inactive + 1
  end
end
