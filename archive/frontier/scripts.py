"""The frontier's Lua scripts: each step that must not be split between workers.

scrapy-redis pops its start URLs and forgets them; a worker that dies with them loses
them. These scripts add what it lacks: a lease per popped resource (owner and expiry,
in Redis's own clock so that machines need not agree on the time), requeueing of
expired leases, the once-per-crawl rule, and per-host slots (a key with an expiry,
as Browsertrix-crawler keeps its per-site rate limits).
"""

from __future__ import annotations

#: milliseconds on the Redis server's clock, the one every worker reads
_NOW = """
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000)
"""

#: KEYS: state, then the keys of a crawl to clear. ARGV: worker, seeding lease (ms).
#: Returns {crawl id, 1 when this worker seeds it}.
BEGIN = (
    _NOW
    + """
local phase = redis.call('HGET', KEYS[1], 'phase')
local crawl = tonumber(redis.call('HGET', KEYS[1], 'crawl') or '0')
if (not phase) or phase == 'finished' then
  crawl = redis.call('HINCRBY', KEYS[1], 'crawl', 1)
  for i = 2, #KEYS do redis.call('DEL', KEYS[i]) end
  redis.call('HSET', KEYS[1], 'phase', 'seeding', 'started', now, 'seeder', ARGV[1],
             'seeding_until', now + tonumber(ARGV[2]))
  redis.call('HDEL', KEYS[1], 'finished')
  return {crawl, 1}
end
if phase == 'seeding' and tonumber(redis.call('HGET', KEYS[1], 'seeding_until')) < now then
  -- its seeder died while pushing: this worker pushes again (the seen set dedupes)
  redis.call('HSET', KEYS[1], 'seeder', ARGV[1], 'seeding_until', now + tonumber(ARGV[2]))
  return {crawl, 1}
end
return {crawl, 0}
"""
)

#: KEYS: seen, entries, queue. ARGV: resource id, entry, resource id, entry, ...
#: Returns how many were new to this crawl (and queued).
PUSH = """
local queued = 0
for i = 1, #ARGV, 2 do
  if redis.call('SADD', KEYS[1], ARGV[i]) == 1 then
    redis.call('HSET', KEYS[2], ARGV[i], ARGV[i + 1])
    redis.call('RPUSH', KEYS[3], ARGV[i + 1])
    queued = queued + 1
  end
end
return queued
"""

#: KEYS: queue, leases, owners, done. ARGV: how many, worker, lease (ms).
#: Pops and leases at once: nothing is ever popped without an owner.
POP = (
    _NOW
    + """
local out = {}
local ttl = tonumber(ARGV[3])
while #out < tonumber(ARGV[1]) do
  local entry = redis.call('LPOP', KEYS[1])
  if not entry then break end
  local rid = cjson.decode(entry)['resource_id']
  local held = tonumber(redis.call('ZSCORE', KEYS[2], rid) or '0')
  -- done already, or leased by a live worker (a copy requeued while it was slow): skip
  if redis.call('SISMEMBER', KEYS[4], rid) == 0 and held <= now then
    redis.call('ZADD', KEYS[2], now + ttl, rid)
    redis.call('HSET', KEYS[3], rid, ARGV[2])
    table.insert(out, entry)
  end
end
return out
"""
)

#: KEYS: leases, owners. ARGV: worker, lease (ms), resource ids. Renews the worker's own.
RENEW = (
    _NOW
    + """
local renewed = 0
for i = 3, #ARGV do
  if redis.call('HGET', KEYS[2], ARGV[i]) == ARGV[1] then
    redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), ARGV[i])
    renewed = renewed + 1
  end
end
return renewed
"""
)

#: KEYS: leases, owners, entries, queue, done. Requeues expired leases (at the front:
#: they have waited long enough). Returns how many.
REQUEUE = (
    _NOW
    + """
local expired = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now, 'LIMIT', 0, 1000)
for _, rid in ipairs(expired) do
  redis.call('ZREM', KEYS[1], rid)
  redis.call('HDEL', KEYS[2], rid)
  if redis.call('SISMEMBER', KEYS[5], rid) == 0 then
    local entry = redis.call('HGET', KEYS[3], rid)
    if entry then
      -- its worker may have recorded it and died before saying so: the next one checks
      local marked = cjson.decode(entry)
      marked['requeued'] = true
      redis.call('LPUSH', KEYS[4], cjson.encode(marked))
    end
  end
end
return #expired
"""
)

#: KEYS: leases, owners, done. ARGV: resource id, worker, lease (ms).
#: 1 when this worker may record the resource: it is not done, and no other live
#: worker holds it. The lease is renewed (taken back, if it had expired).
CLAIM = (
    _NOW
    + """
if redis.call('SISMEMBER', KEYS[3], ARGV[1]) == 1 then return 0 end
local owner = redis.call('HGET', KEYS[2], ARGV[1])
local until_ = tonumber(redis.call('ZSCORE', KEYS[1], ARGV[1]) or '0')
if owner and owner ~= ARGV[2] and until_ > now then return 0 end
redis.call('HSET', KEYS[2], ARGV[1], ARGV[2])
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[3]), ARGV[1])
return 1
"""
)

#: KEYS: leases, owners, done, failed, per-worker counts. ARGV: resource id, worker,
#: 1 when the capture failed. The resource is done for this crawl; its lease ends.
FINISH = """
redis.call('SADD', KEYS[3], ARGV[1])
if ARGV[3] == '1' then redis.call('SADD', KEYS[4], ARGV[1]) end
redis.call('ZREM', KEYS[1], ARGV[1])
redis.call('HDEL', KEYS[2], ARGV[1])
redis.call('HINCRBY', KEYS[5], ARGV[2], 1)
return 1
"""

#: KEYS: state, queue, leases. 1 once the crawl is over: seeded, nothing queued, nothing
#: leased (it is then marked finished, and the next worker to start begins a new crawl).
DRAINED = (
    _NOW
    + """
local phase = redis.call('HGET', KEYS[1], 'phase')
if phase == 'finished' then return 1 end
if phase ~= 'running' then return 0 end
if redis.call('LLEN', KEYS[2]) > 0 or redis.call('ZCARD', KEYS[3]) > 0 then return 0 end
redis.call('HSET', KEYS[1], 'phase', 'finished', 'finished', now)
return 1
"""
)

#: KEYS: the host's slots. ARGV: token, concurrency, hold (ms), longest wait (ms).
#: 0 when a slot is taken, else how many ms to wait before asking again: until the
#: first slot frees, or (while it is in flight, its end unknown) the longest wait.
HOST_ACQUIRE = (
    _NOW
    + """
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if redis.call('ZCARD', KEYS[1]) < tonumber(ARGV[2]) then
  redis.call('ZADD', KEYS[1], now + tonumber(ARGV[3]), ARGV[1])
  redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[3]) + 60000)
  return 0
end
local first = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
return math.max(1, math.min(tonumber(first[2]) - now, tonumber(ARGV[4])))
"""
)

#: KEYS: the host's slots. ARGV: token, ms from now until the slot frees (the delay
#: after an answer, or a renewed hold while the request is in flight).
HOST_HOLD = (
    _NOW
    + """
if redis.call('ZSCORE', KEYS[1], ARGV[1]) then
  redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), ARGV[1])
  redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[2]) + 60000)
end
return 1
"""
)
