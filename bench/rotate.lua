-- wrk script: POST the JSON bodies of the file named by $PAYLOADS (one per line) in
-- turn, with the bearer token in $TOKEN. Run wrk with -t1: one Lua state, one rotation.
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
local t = os.getenv("TOKEN")
if t and #t > 0 then wrk.headers["Authorization"] = "Bearer " .. t end
local bodies = {}
for line in io.lines(os.getenv("PAYLOADS")) do
  if #line > 0 then bodies[#bodies + 1] = line end
end
local i = 0
request = function()
  i = i % #bodies + 1
  return wrk.format(nil, nil, nil, bodies[i])
end
