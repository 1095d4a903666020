-- wrk script: POST the JSON bodies of the file named by $PAYLOADS (one per line) in
-- turn, with the bearer token in $TOKEN. Run wrk with -t1: one Lua state, one rotation.
-- A body with the placeholder "MSGID" (a 2204 message, bench/hsa_payload.py) gets a new
-- msgid per request, so that every request is judged, not answered from its record.
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
local t = os.getenv("TOKEN")
if t and #t > 0 then wrk.headers["Authorization"] = "Bearer " .. t end
math.randomseed(os.time())
local tag = string.format("R%x%04x-", os.time(), math.random(0, 65535))
local heads, tails = {}, {}
for line in io.lines(os.getenv("PAYLOADS")) do
  if #line > 0 then
    local k, at = #heads + 1, line:find('"MSGID"', 1, true)
    if at then
      heads[k], tails[k] = line:sub(1, at) .. tag, line:sub(at + 6)
    else
      heads[k] = line
    end
  end
end
local i, n = 0, 0
request = function()
  i = i % #heads + 1
  n = n + 1
  local tail = tails[i]
  if tail then return wrk.format(nil, nil, nil, heads[i] .. n .. tail) end
  return wrk.format(nil, nil, nil, heads[i])
end
