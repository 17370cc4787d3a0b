-- Requests that each carry one line of a data file (a token to introspect
-- or revoke, a single-use client assertion). Thread t of n sends lines
-- t, t+n, t+2n, …, so no two requests of a run share a line until the
-- file wraps around. Set by the harness: data_file, nthreads, body_prefix.
local counter = 0
function setup(thread)
  thread:set("tid", counter)
  counter = counter + 1
end

function init(args)
  items = {}
  local i = 0
  for line in io.lines(data_file) do
    if i % nthreads == tid then items[#items + 1] = line end
    i = i + 1
  end
  next_item = 0
end

function request()
  next_item = next_item + 1
  return wrk.format(nil, nil, nil, body_prefix .. items[(next_item - 1) % #items + 1])
end
