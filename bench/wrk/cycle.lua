-- Requests that each carry one line of a data file (a token to introspect
-- or revoke, a single-use client assertion), each thread its own lines
-- (lines.lua), so no two requests of a run share a line until the file
-- wraps around. Set by the harness: data_file, nthreads, body_prefix.
function init(args)
  items = own_lines()
  next_item = 0
end

function request()
  next_item = next_item + 1
  return wrk.format(nil, nil, nil, body_prefix .. items[(next_item - 1) % #items + 1])
end
