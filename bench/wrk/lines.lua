-- Shared by cycle.lua and chain.lua: numbers the threads and gives each
-- its share of data_file: thread t of n takes lines t, t+n, t+2n, …
local counter = 0
threads = {}
function setup(thread)
  thread:set("tid", counter)
  counter = counter + 1
  threads[#threads + 1] = thread
end

function own_lines()
  local mine, i = {}, 0
  for line in io.lines(data_file) do
    if i % nthreads == tid then mine[#mine + 1] = line end
    i = i + 1
  end
  return mine
end
