-- Refresh chains: every request spends one refresh token from the thread's
-- pool and its answer puts the rotated one back, so each token is used
-- exactly once. What is left over is written back to data_file for the
-- next run (warm-up, then the measured run). Set by the harness:
-- data_file, nthreads, body_prefix.
function init(args)
  pool = own_lines()
end

function request()
  -- An empty pool (every chain broken by errors) sends a token that
  -- cannot work, which wrk counts as an error rather than hanging.
  return wrk.format(nil, nil, nil, body_prefix .. (table.remove(pool) or "exhausted"))
end

function response(status, headers, body)
  if status == 200 then
    local t = body:match('"refresh_token":"([^"]+)"')
    if t then pool[#pool + 1] = t end
  end
end

function done(summary, latency, requests)
  local f = assert(io.open(data_file, "w"))
  for _, thread in ipairs(threads) do
    for _, t in ipairs(thread:get("pool")) do f:write(t, "\n") end
  end
  f:close()
  report(summary, latency)
end
