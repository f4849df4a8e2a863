-- A paying wrk client for bench/paid.ts (docs/protocol/payments.md, tickets in X-Bandmint-Ticket).
--
-- Run with as many threads as connections (wrk -tN -cN): each thread is one connection and one
-- payment session, so its requests are strictly serial and the thread knows exactly how many body
-- bytes it has received before each request (requests so far x object size). The tickets were
-- signed by bench/lib/paidWrk.ts before the clock started (ticket j acknowledges j x bytesPerTicket
-- bytes); this script only decides when to send them: with the next request that would otherwise
-- take the session past its credit window, every ticket already due, at most 8 per header.
--
-- A window smaller than the object cannot pay for it in one response: the object is then fetched as
-- consecutive Range requests of `rangeSize` bytes (a whole number of them per object), as the SDK does.
--
-- args: dir path objectSize rangeSize bytesPerTicket creditWindowBytes
-- dir/session<id>.txt: line 1 the session token, then one base64url ticket per line, in nonce order.

local counter = 0

function setup(thread)
  thread:set("id", counter)
  counter = counter + 1
end

function init(args)
  local dir = args[1]
  target = args[2]
  objectSize, size, bpt, window = tonumber(args[3]), tonumber(args[4]), tonumber(args[5]), tonumber(args[6])
  ranges = objectSize / size
  local f = assert(io.open(dir .. "/session" .. id .. ".txt", "r"))
  token = f:read("*l")
  tickets = {}
  for line in f:lines() do tickets[#tickets + 1] = line end
  f:close()
  done = 0 -- requests made before this one (each answered in full before the next is sent)
  sent = 0 -- tickets sent
  -- wrk 4 calls thread 1's request() once before the run, to count pipelined requests in what it
  -- returns; that call must not count as a request made.
  probed = id ~= 0
end

function request()
  if not probed then
    probed = true
    return wrk.format("GET", target, { ["X-Bandmint-Session"] = token })
  end
  local received = done * size
  local headers = { ["X-Bandmint-Session"] = token }
  if ranges > 1 then
    local from = (done % ranges) * size
    headers["Range"] = "bytes=" .. from .. "-" .. (from + size - 1)
  end
  done = done + 1
  if received - sent * bpt + size > window then
    local due = math.floor(received / bpt)
    if due > #tickets then due = #tickets end
    if due > sent + 8 then due = sent + 8 end
    if due > sent then
      headers["X-Bandmint-Ticket"] = table.concat(tickets, ",", sent + 1, due)
      sent = due
    end
  end
  return wrk.format("GET", target, headers)
end
