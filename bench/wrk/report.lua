-- Appended to every scenario script: reports the run as one line the
-- harness parses. Latencies are in microseconds, as wrk measures them.
function report(summary, latency)
  local e = summary.errors
  io.write(string.format("GATEHOUSE_RESULT %d %d %d %d %d %d %d %d %d %d %d\n",
    summary.requests, summary.duration, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max))
end

if done == nil then
  done = function(summary, latency, requests) report(summary, latency) end
end
