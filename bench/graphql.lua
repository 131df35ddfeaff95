-- wrk script: POST one GraphQL request body, read from the file BENCH_BODY_FILE, with
-- the cookie BENCH_COOKIE when set. Counts every answer that is not a 200 or that
-- carries GraphQL "errors", and prints exact latency percentiles (microseconds).
local file = assert(io.open(os.getenv("BENCH_BODY_FILE"), "rb"))
local payload = file:read("*a")
file:close()

wrk.method = "POST"
wrk.body = payload
wrk.headers["Content-Type"] = "application/json"
local cookie = os.getenv("BENCH_COOKIE")
if cookie ~= nil and #cookie > 0 then
  wrk.headers["Cookie"] = cookie
end

local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  bad = 0
end

function response(status, headers, body)
  if status ~= 200 or string.find(body, '"errors"', 1, true) then
    bad = bad + 1
  end
end

function done(summary, latency, requests)
  local total = 0
  for _, thread in ipairs(threads) do
    total = total + thread:get("bad")
  end
  io.write(string.format("bench_bad_responses %d\n", total))
  io.write(string.format("bench_requests %d\n", summary.requests))
  io.write(string.format("bench_duration_us %d\n", summary.duration))
  io.write(string.format("bench_socket_errors %d\n",
    summary.errors.connect + summary.errors.read + summary.errors.write +
    summary.errors.timeout))
  io.write(string.format("bench_status_errors %d\n", summary.errors.status))
  io.write(string.format("bench_p50_us %d\n", latency:percentile(50)))
  io.write(string.format("bench_p99_us %d\n", latency:percentile(99)))
end
