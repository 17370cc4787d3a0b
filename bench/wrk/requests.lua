-- Requests that each take one line of a data file, each thread its own
-- lines (lines.lua), cycling through them. A line is fields separated by
-- tabs: the path (empty: the URL's), the body (empty: none), then any
-- number of "Name: value" headers. The requests are formatted once, in
-- init. With expect_status set, an answer below 400 with another status
-- counts as an HTTP status error (wrk counts only 4xx and 5xx itself): a
-- login form shown again answers 200, not 303. Set by the harness:
-- data_file, nthreads, expect_status (or nil).
function init(args)
  items = {}
  for _, line in ipairs(own_lines()) do
    local f = {}
    for field in (line .. "\t"):gmatch("([^\t]*)\t") do f[#f + 1] = field end
    -- wrk.format takes these headers instead of wrk.headers: start
    -- from a copy of those (Host, Content-Type).
    local headers = {}
    for k, v in pairs(wrk.headers) do headers[k] = v end
    for i = 3, #f do
      local k, v = f[i]:match("^([^:]+):%s*(.*)$")
      if k then headers[k] = v end
    end
    local path, body = f[1], f[2]
    if path == "" then path = nil end
    if body == "" then body = nil end
    items[#items + 1] = wrk.format(nil, path, headers, body)
  end
  next_item = 0
  unexpected = 0
end

function request()
  next_item = next_item + 1
  return items[(next_item - 1) % #items + 1]
end

if expect_status then
  function response(status, headers, body)
    if status < 400 and status ~= expect_status then unexpected = unexpected + 1 end
  end
end

function done(summary, latency, requests)
  for _, thread in ipairs(threads) do
    summary.errors.status = summary.errors.status + (thread:get("unexpected") or 0)
  end
  report(summary, latency)
end
