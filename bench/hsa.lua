-- wrk script: POST the 2204 message in $PAYLOAD with the bearer token in $TOKEN, each
-- request with a new msgid (the placeholder MSGID replaced by a run tag and a counter),
-- so that every request is judged rather than answered from its idempotency record.
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
local t = os.getenv("TOKEN")
if t and #t > 0 then wrk.headers["Authorization"] = "Bearer " .. t end
local f = io.open(os.getenv("PAYLOAD"), "rb")
local body = f:read("*a")
f:close()
local at = body:find('"MSGID"', 1, true)
local head, tail = body:sub(1, at), body:sub(at + 6)
math.randomseed(os.time())
local tag = string.format("B%x%04x", os.time(), math.random(0, 65535))
local n = 0
request = function()
  n = n + 1
  return wrk.format(nil, nil, nil, head .. tag .. "-" .. n .. tail)
end
