-- wrk script: send pre-signed requests from files made by gen_reqs.
-- Each wrk thread reads its own file (REQ_PREFIX.<thread index>) as it
-- goes, one fixed-length record per request() call; nothing is loaded up
-- front (see FIELD-NOTES: loading in init() skews wrk's rate).
--   wrk ... -s replay.lua URL -- PREFIX [cycle]
-- With "cycle" a thread rewinds at end of file (for servers that do not
-- check nonces); otherwise it sends an unsigned request, which a signing
-- server answers 401 (wrk counts it as non-2xx, so exhaustion shows).
local counter = 0
local threads = {}

function setup(thread)
   thread:set("tid", counter)
   counter = counter + 1
   table.insert(threads, thread)
end

local f, reclen, cycle, fallback = nil, 0, false, nil
exhausted = 0

function init(args)
   local prefix = args[1]
   cycle = args[2] == "cycle"
   f = assert(io.open(prefix .. "." .. tostring(tid or 0), "rb"))
   reclen = tonumber(f:read("*l"))
   fallback = wrk.format("GET", "/unsigned-fallback")
end

function request()
   local r = f:read(reclen)
   if r == nil or #r < reclen then
      if cycle then
         f:seek("set", 0)
         f:read("*l")
         r = f:read(reclen)
         return r
      end
      exhausted = exhausted + 1
      return fallback
   end
   return r
end

function done(summary, latency, requests)
   local ex = 0
   for _, t in ipairs(threads) do
      ex = ex + (tonumber(t:get("exhausted")) or 0)
   end
   io.write(string.format("REPLAY_EXHAUSTED %d\n", ex))
end
