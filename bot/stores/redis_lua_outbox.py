"""Lua scripts of the Redis store's delivery outbox (layout 2, see docs/stores.md).

Each item is a hash `P delivery:ID` (ID = its idempotency key) with fields `kind` (absent for
alerts), `c` channel key, `r` rule, `g` alert group (`P group:G` holds the print id, the
expiry (fixed-width UTC ISO) and the alert ids, newline-separated, once for every channel that
gets them), `pl` payload JSON, `cr` created, `due`, `att` failed attempts, `err` last
error, `by` lessee, `at` leased at, `lsec` lease seconds, `ls` leases, `st` state, `n` order.
Absent counters are 0. Values stay short (≤ 64 bytes) so Redis keeps each hash compact.
`P dq:PLATFORM` is a sorted set of the platform's pending ids scored by the real time at which
each is available: its due time, or the end of its lease.
"""

from __future__ import annotations

COMMON = r"""
local function platform_of(ckey) return string.match(ckey, '^([^:]+):') end
local function fmt(x) return string.format('%.6f', x) end
local function park_item(p, id, ikey, q, att, err)
  local n = redis.call('HGET', ikey, 'n') or '0'
  redis.call('HSET', ikey, 'st', 'parked', 'att', att, 'err', err, 'by', '')
  redis.call('ZREM', q, id)
  redis.call('ZADD', p .. 'deliveries:parked', n, id)
end
local GROUP_TTL = 7776000  -- 90 days, as the alert events
local group_texts = {}
-- A group is "print id\nexpiry\nalert id\nalert id...": what its alerts share.
local function group_ref(p, pid, exp, ids)
  if ids == '' then return '' end
  local text = pid .. '\n' .. exp .. '\n' .. ids
  local g = string.sub(redis.sha1hex(text), 1, 16)
  if not group_texts[g] then
    redis.call('SET', p .. 'group:' .. g, text, 'EX', GROUP_TTL)
    group_texts[g] = text
  end
  return g
end
local function group_ids(p, g)
  if not g or g == '' then return '' end
  return redis.call('GET', p .. 'group:' .. g) or ''
end
local function split_group(text)
  local pid, exp, ids = string.match(text, '^([^\n]*)\n([^\n]*)\n(.*)$')
  return pid or '', exp or '', ids or ''
end
local function reply(p, id, ikey, out)
  out[#out + 1] = id
  out[#out + 1] = redis.call('HGETALL', ikey)
  out[#out + 1] = group_ids(p, redis.call('HGET', ikey, 'g'))
end
local platforms_seen = {}
local function new_item(p, id, fields, ckey, due)
  local ikey = p .. 'delivery:' .. id
  local n = redis.call('INCR', p .. 'deliveries:seq')
  redis.call('HSET', ikey, 'n', n, 'c', ckey, 'st', 'pending', 'due', due, unpack(fields))
  local platform = platform_of(ckey)
  redis.call('ZADD', p .. 'dq:' .. platform, due, id)
  if not platforms_seen[platform] then
    redis.call('SADD', p .. 'deliveries:platforms', platform)
    platforms_seen[platform] = true
  end
  return ikey, n
end
"""

CLAIM = (
    COMMON
    + r"""
-- ARGV: prefix, trading_now, real_now, history_len, alert_ttl, n_events,
--   per event (7): alert_id, rule_id, session, rank, json, expires, print_id
--   per pair (1): 'event index (1-based)|policy_kind|cooldown_seconds|key|channel_key'
-- Returns {group ref, group text, ...}, {'id|n|group ref|rule|channel_key' per new item},
--   {id, its hash, group ref per item that was joined}.
local p, tnow_text, rnow = ARGV[1], ARGV[2], ARGV[3]
local tnow, history_len, ttl, ne = tonumber(ARGV[2]), tonumber(ARGV[4]), ARGV[5], tonumber(ARGV[6])
local ev, i = {}, 7
for e = 1, ne do
  ev[e] = {id = ARGV[i], rule = ARGV[i + 1], session = ARGV[i + 2], rank = tonumber(ARGV[i + 3]),
    rank_text = ARGV[i + 3], json = ARGV[i + 4], exp = ARGV[i + 5], pid = ARGV[i + 6]}
  i = i + 7
end
local active = {}
local groups, order = {}, {}
while i <= #ARGV do
  local index, kind, cooldown, key, ckey = string.match(ARGV[i],
    '^(%d+)|([^|]*)|([^|]*)|([^|]*)|(.*)$')
  local e = ev[tonumber(index)]
  cooldown = tonumber(cooldown)
  i = i + 1
  local chkey = p .. 'channel:' .. ckey
  if active[ckey] == nil then active[ckey] = redis.call('HGET', chkey, 'active') == '1' end
  if active[ckey] then  -- known and active; its trigger state is field t:RULE of its hash
    local tfield = 't:' .. e.rule
    local st = redis.call('HGET', chkey, tfield)
    local allow, count = true, 1
    if st then
      local s, r, f, a, c = string.match(st, '^([^|]*)|([^|]*)|([^|]*)|([^|]*)|([^|]*)$')
      r, f, count = tonumber(r), tonumber(f), tonumber(c) + 1
      if s == e.session and e.rank > r then allow = true
      elseif kind == 'once' then allow = false
      elseif kind == 'once_per_session' then allow = e.session > s
      else allow = (a == '1') and (tnow - f >= cooldown) end
    end
    if allow then
      local state = e.session .. '|' .. e.rank_text .. '|' .. tnow_text .. '|0|' .. count
      redis.call('HSET', chkey, tfield, state)
      e.used = true
      local g = groups[key]
      if not g then
        g = {ckey = ckey, ids = {}, seen = {}, exp = '', rule = e.rule, pid = e.pid}
        groups[key] = g
        order[#order + 1] = key
      end
      if not g.seen[e.id] then
        g.seen[e.id] = true
        g.ids[#g.ids + 1] = e.id
        if e.exp ~= '' and (g.exp == '' or e.exp < g.exp) then g.exp = e.exp end
      end
    end
  end
end
for _, e in ipairs(ev) do
  if e.used then redis.call('SET', p .. 'alert:' .. e.id, e.json, 'EX', ttl, 'NX') end
end
local out, created = {}, {}
for _, key in ipairs(order) do
  local g = groups[key]
  local id, ikey = key, p .. 'delivery:' .. key
  local added = group_ref(p, g.pid, g.exp, table.concat(g.ids, '\n'))
  -- history: the newest refs in field h of the channel's hash, older ones in `history:C`
  local chkey, hkey = p .. 'channel:' .. g.ckey, p .. 'history:' .. g.ckey
  local refs = redis.call('HGET', chkey, 'h')
  refs = (refs and refs ~= '') and (added .. ' ' .. refs) or added
  local spilled = false
  while #refs > 64 do
    local newer, oldest = string.match(refs, '^(.*) (%S+)$')
    redis.call('LPUSH', hkey, oldest)
    refs, spilled = newer, true
  end
  if spilled then redis.call('LTRIM', hkey, 0, history_len - 1) end
  redis.call('HSET', chkey, 'h', refs)
  local f = redis.call('HMGET', ikey, 'st', 'by', 'g')
  if f[1] == 'pending' and (f[2] == false or f[2] == '') then
    local pid, exp, old_ids = split_group(group_ids(p, f[3]))
    local ids, seen = {}, {}
    for old in string.gmatch(old_ids, '[^\n]+') do
      ids[#ids + 1] = old
      seen[old] = true
    end
    for _, new in ipairs(g.ids) do if not seen[new] then ids[#ids + 1] = new end end
    if g.exp ~= '' and (exp == '' or g.exp < exp) then exp = g.exp end
    local merged = group_ref(p, pid, exp, table.concat(ids, '\n'))
    redis.call('HSET', ikey, 'g', merged)
    out[#out + 1] = id
    out[#out + 1] = redis.call('HGETALL', ikey)
    out[#out + 1] = merged
  else
    if f[1] then  -- sent or being sent: the new alerts get a message of their own
      id = string.sub(redis.sha1hex(key .. '#' .. g.ids[1]), 1, 24)
    end
    local fields = {'r', g.rule, 'g', added, 'cr', rnow}
    local _, n = new_item(p, id, fields, g.ckey, rnow)
    created[#created + 1] = id .. '|' .. n .. '|' .. added .. '|' .. g.rule .. '|' .. g.ckey
  end
end
local texts = {}
for g, text in pairs(group_texts) do
  texts[#texts + 1] = g
  texts[#texts + 1] = text
end
return {texts, created, out}
"""
)

ENQUEUE = (
    COMMON
    + r"""
-- ARGV: prefix, id, kind, channel_key, rule_id, payload_json, now, due
-- Returns {id, HGETALL, ''}, or false if the id (idempotency key) exists already.
local p, id = ARGV[1], ARGV[2]
if redis.call('EXISTS', p .. 'delivery:' .. id) == 1 then return false end
local ikey = new_item(p, id, {'kind', ARGV[3], 'r', ARGV[5], 'pl', ARGV[6], 'cr', ARGV[7]},
  ARGV[4], ARGV[8])
local out = {}
reply(p, id, ikey, out)
return out
"""
)

LEASE = (
    COMMON
    + r"""
-- ARGV: prefix, worker, now, lease_seconds, limit, max_attempts, platform...
-- Leases due items (and items whose lease ran out); parks items leased max_attempts times.
-- Returns per leased item: id, HGETALL, alert ids.
local p, me, now, lsec = ARGV[1], ARGV[2], tonumber(ARGV[3]), tonumber(ARGV[4])
local limit, max = tonumber(ARGV[5]), tonumber(ARGV[6])
local out, taken = {}, 0
for j = 7, #ARGV do
  if taken >= limit then break end
  local q = p .. 'dq:' .. ARGV[j]
  local ids = redis.call('ZRANGEBYSCORE', q, '-inf', ARGV[3], 'LIMIT', 0, limit - taken)
  for _, id in ipairs(ids) do
    local ikey = p .. 'delivery:' .. id
    local f = redis.call('HMGET', ikey, 'st', 'ls', 'att', 'err')
    if f[1] ~= 'pending' then
      redis.call('ZREM', q, id)
    else
      local leases, att = tonumber(f[2]) or 0, tonumber(f[3]) or 0
      if leases >= max then
        local died = string.format('%d', leases - att)
        local text = 'worker died ' .. died .. ' times while delivering'
        if f[4] and f[4] ~= '' then text = text .. ' (last error: ' .. f[4] .. ')' end
        park_item(p, id, ikey, q, leases, text)
      else
        redis.call('HSET', ikey, 'by', me, 'at', ARGV[3], 'lsec', ARGV[4], 'ls', leases + 1)
        redis.call('ZADD', q, fmt(now + lsec), id)
        taken = taken + 1
        reply(p, id, ikey, out)
      end
    end
  end
end
return out
"""
)

RENEW = (
    COMMON
    + r"""
-- ARGV: prefix, id, worker, now. Restarts the lease if the worker still holds it: 1, else 0.
local p, id = ARGV[1], ARGV[2]
local ikey = p .. 'delivery:' .. id
local f = redis.call('HMGET', ikey, 'st', 'by', 'lsec', 'c')
if f[1] ~= 'pending' or f[2] ~= ARGV[3] then return 0 end
redis.call('HSET', ikey, 'at', ARGV[4])
redis.call('ZADD', p .. 'dq:' .. platform_of(f[4]), fmt(tonumber(ARGV[4]) + tonumber(f[3])), id)
return 1
"""
)

SETTLE = (
    COMMON
    + r"""
-- ARGV: prefix, id, action, now, then per action:
--   done: keep_seconds            fail: error, max_attempts, retry_in ('' = back-off)
--   reschedule: due, reason       park: reason
-- Returns {id, HGETALL, alert ids} afterwards (an empty hash if it is gone) for 'fail',
-- nothing for the other actions.
local p, id, action, now = ARGV[1], ARGV[2], ARGV[3], tonumber(ARGV[4])
local ikey = p .. 'delivery:' .. id
local f = redis.call('HMGET', ikey, 'st', 'c', 'att', 'ls')
local out = {}
if f[1] ~= 'pending' then
  if action == 'fail' then reply(p, id, ikey, out) end
  return out
end
local q = p .. 'dq:' .. platform_of(f[2])
local att, leases = tonumber(f[3]) or 0, tonumber(f[4]) or 0
if action == 'done' then
  redis.call('HSET', ikey, 'st', 'done', 'by', '')
  redis.call('ZREM', q, id)
  redis.call('EXPIRE', ikey, ARGV[5])
elseif action == 'fail' then
  att = att + 1
  if att >= tonumber(ARGV[6]) then
    park_item(p, id, ikey, q, att, ARGV[5])
  else
    local delay = tonumber(ARGV[7])
    if delay == nil then delay = math.min(30 * 2 ^ (att - 1), 900) end
    local due = fmt(now + delay)
    redis.call('HSET', ikey, 'att', att, 'err', ARGV[5], 'by', '', 'due', due)
    redis.call('ZADD', q, due, id)
  end
elseif action == 'reschedule' then
  local left = math.max(leases - 1, att)
  redis.call('HSET', ikey, 'by', '', 'due', ARGV[5], 'err', ARGV[6], 'ls', left)
  redis.call('ZADD', q, ARGV[5], id)
else
  park_item(p, id, ikey, q, att, ARGV[5])
end
if action == 'fail' then reply(p, id, ikey, out) end
return out
"""
)

PARK_CHANNELS = (
    COMMON
    + r"""
-- ARGV: prefix, platform, reason ('' = delete instead of park), channel_key...
-- Parks (or deletes) the pending items of these channels; deleting also drops parked ones.
local p, reason = ARGV[1], ARGV[3]
local q = p .. 'dq:' .. ARGV[2]
local wanted = {}
for j = 4, #ARGV do wanted[ARGV[j]] = true end
local count = 0
local function sweep(ids, queue)
  for _, id in ipairs(ids) do
    local ikey = p .. 'delivery:' .. id
    local f = redis.call('HMGET', ikey, 'c', 'att')
    if f[1] and wanted[f[1]] then
      count = count + 1
      if reason == '' then
        redis.call('DEL', ikey)
        redis.call('ZREM', queue, id)
      else
        park_item(p, id, ikey, queue, tonumber(f[2]) or 0, reason)
      end
    end
  end
end
sweep(redis.call('ZRANGE', q, 0, -1), q)
if reason == '' then
  local parked = p .. 'deliveries:parked'
  sweep(redis.call('ZRANGE', parked, 0, -1), parked)
end
return count
"""
)

MIGRATE = (
    COMMON
    + r"""
-- ARGV: prefix, now. Layout 1 (one stream `P outbox`, `outbox:errors`, `outbox:parked`) →
-- layout 2. Entries become one-alert items; unreadable ones are parked. Returns items moved.
local p, now = ARGV[1], ARGV[2]
if redis.call('GET', p .. 'layout') == '2' then return 0 end
local moved = 0
local function move(entry_id, item, state, att, err)
  local a, c, k = item['a'], item['c'], item['k']
  local reason = nil
  if type(a) ~= 'string' or type(c) ~= 'string' or type(k) ~= 'string' then
    reason = 'missing fields'
  elseif not string.match(c, '^[^:]+:[^:]*:.+$') then
    reason = 'bad channel key ' .. c
  elseif redis.call('EXISTS', p .. 'alert:' .. a) == 0 then
    reason = 'alert event ' .. a .. ' is missing'
  end
  if reason then
    state, err = 'parked', 'outbox item from schema 1: ' .. reason
    if type(c) ~= 'string' or not string.match(c, '^[^:]+:[^:]*:.+$') then
      c = 'unknown::' .. entry_id
    end
    if type(k) ~= 'string' then k = 'schema1-' .. entry_id end
    if type(a) ~= 'string' then a = '' end
  end
  local rule = item['r']
  if type(rule) ~= 'string' then rule = string.match(a, '^([^|]*)') or '' end
  local ikey = new_item(p, k, {'r', rule, 'g', group_ref(p, '', '', a), 'cr', now}, c, now)
  redis.call('HSET', ikey, 'att', att, 'ls', att)
  if err then redis.call('HSET', ikey, 'err', err) end
  if state == 'parked' then park_item(p, k, ikey, p .. 'dq:' .. platform_of(c), att, err) end
  moved = moved + 1
end
local stream = p .. 'outbox'
if redis.call('TYPE', stream)['ok'] == 'stream' then
  for _, entry in ipairs(redis.call('XRANGE', stream, '-', '+')) do
    local item = {}
    for j = 1, #entry[2], 2 do item[entry[2][j]] = entry[2][j + 1] end
    local att, err = 0, nil
    local seen = redis.call('HGET', p .. 'outbox:errors', entry[1])
    if seen then
      local ok, failure = pcall(cjson.decode, seen)
      if ok then att, err = failure['attempts'] or 0, failure['last_error'] end
    end
    move(entry[1], item, 'pending', att, err)
  end
end
local parked = redis.call('HGETALL', p .. 'outbox:parked')
for j = 1, #parked, 2 do
  local ok, item = pcall(cjson.decode, parked[j + 1])
  if not ok or type(item) ~= 'table' then item = {} end
  local err = item['last_error']
  if type(err) ~= 'string' then err = 'parked under schema 1' end
  move(parked[j], item, 'parked', tonumber(item['attempts']) or 0, err)
end
redis.call('DEL', stream, p .. 'outbox:errors', p .. 'outbox:parked')
-- layout 1 kept trigger state in `P trigger:RULE` (channel key → state): into the channels
local old_rules = {}
for _, ckey in ipairs(redis.call('SMEMBERS', p .. 'channels')) do
  for _, member in ipairs(redis.call('SMEMBERS', p .. 'chsubs:' .. ckey)) do
    local kind, rule = string.match(member, '^([^|]*)|(.*)$')
    if kind == 'alert' then
      old_rules[rule] = true
      local st = redis.call('HGET', p .. 'trigger:' .. rule, ckey)
      if st then redis.call('HSET', p .. 'channel:' .. ckey, 't:' .. rule, st) end
    end
  end
end
for rule in pairs(old_rules) do redis.call('DEL', p .. 'trigger:' .. rule) end
redis.call('SET', p .. 'layout', '2')
return moved
"""
)

RECORD_DIGEST = r"""
-- ARGV: prefix, field, stamp. 1 if the slot is later than the last one recorded, else 0.
local key = ARGV[1] .. 'digests'
local last = redis.call('HGET', key, ARGV[2])
if last and last >= ARGV[3] then return 0 end
redis.call('HSET', key, ARGV[2], ARGV[3])
return 1
"""

PURGE = r"""
-- ARGV: prefix, channel_key... Forgets channels: hash, sets, subscriptions, trigger state,
-- history and digest slots (their items are removed by PARK_CHANNELS). Returns how many.
local p = ARGV[1]
local count = 0
for j = 2, #ARGV do
  local ckey = ARGV[j]
  count = count + redis.call('DEL', p .. 'channel:' .. ckey)
  redis.call('SREM', p .. 'channels', ckey)
  redis.call('SREM', p .. 'channels:inactive', ckey)
  for _, member in ipairs(redis.call('SMEMBERS', p .. 'chsubs:' .. ckey)) do
    local kind, rule = string.match(member, '^([^|]*)|(.*)$')
    redis.call('HDEL', p .. 'rule:' .. kind .. ':' .. rule, ckey)
    redis.call('SREM', p .. 'custom', ckey .. '|' .. rule)
    redis.call('HDEL', p .. 'digests', ckey .. '|' .. rule)
  end
  redis.call('DEL', p .. 'chsubs:' .. ckey, p .. 'history:' .. ckey)
end
return count
"""
