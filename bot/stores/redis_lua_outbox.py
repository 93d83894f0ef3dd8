"""Lua scripts of the Redis store's delivery outbox (layout 3, see docs/stores.md).

Items are reached through the prelude `ITEMS` (`redis_lua_items.py`): a claimed alert message
is a row of its print's bucket hash, a digest or notice (and an item of layout 2) a hash of
its own; both are queued in `P dq:PLATFORM` by their id.
"""

from __future__ import annotations

from bot.stores.redis_lua import TRIGGER_STATE
from bot.stores.redis_lua_items import ITEMS

CLAIM = (
    ITEMS
    + TRIGGER_STATE
    + r"""
-- ARGV: prefix, trading_now, real_now, history_len, alert_ttl, n_events,
--   per event (8): alert_id, rule_id, session (YYYYMMDD), rank, json, expires, print_id, channels
--     (channels: how many channels the whole claim gives the event's print, to size buckets)
--   per pair (1): 'event index (1-based)|policy_kind|cooldown_seconds|key|channel_key'
-- Returns {group ref, group text, ...}, {'id|n|group ref|rule|channel_key' per new item},
--   {id, its fields, group ref per item that was joined}.
local p, tnow_text, rnow = ARGV[1], ARGV[2], ARGV[3]
local tnow, history_len, ttl, ne = tonumber(ARGV[2]), tonumber(ARGV[4]), ARGV[5], tonumber(ARGV[6])
local ev, i = {}, 7
for e = 1, ne do
  ev[e] = {id = ARGV[i], rule = ARGV[i + 1], session = ARGV[i + 2], rank = tonumber(ARGV[i + 3]),
    rank_text = ARGV[i + 3], json = ARGV[i + 4], exp = ARGV[i + 5], pid = ARGV[i + 6],
    count = tonumber(ARGV[i + 7])}
  i = i + 8
end
local legacy = redis.call('EXISTS', p .. 'layout2:items') == 1
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
      local s, r, f, a, c = state_read(st)
      r, f, count = tonumber(r), tonumber(f), tonumber(c) + 1
      if s == e.session and e.rank > r then allow = true
      elseif kind == 'once' then allow = false
      elseif kind == 'once_per_session' then allow = e.session > s
      else allow = (a == '1') and (tnow - f >= cooldown) end
    end
    if allow then
      local state = state_text(e.session, e.rank_text, tnow_text, '0', count)
      redis.call('HSET', chkey, tfield, state)
      e.used = true
      local g = groups[key]
      if not g then
        g = {ckey = ckey, ids = {}, seen = {}, exp = '', rule = e.rule, pid = e.pid,
          ref = (e.pid ~= '' and e.pid) or e.id, count = e.count}
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
  local id = bucket_of(p, g.ref, g.count, key) .. '~' .. key
  local f = iget(p, id, {'st', 'by', 'g'})
  if legacy and not f[1] then  -- a pending item of layout 2 is still a hash of its own
    local old = redis.call('HMGET', p .. 'delivery:' .. key, 'st', 'by', 'g')
    if old[1] then id, f = key, old end
  end
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
    iset(p, id, 'g', merged)
    out[#out + 1] = id
    out[#out + 1] = iall(p, id)
    out[#out + 1] = merged
  else
    if f[1] then  -- sent or being sent: the new alerts get a message of their own
      key = string.sub(redis.sha1hex(key .. '#' .. g.ids[1]), 1, 24)
    end
    local n
    id, n = new_row(p, bucket_of(p, g.ref, g.count, key), key, g.ckey, g.rule, added, rnow)
    created[#created + 1] = id .. '|' .. n .. '|' .. added .. '|' .. g.rule .. '|' .. g.ckey
  end
end
flush_live()
local texts = {}
for g, text in pairs(group_texts) do
  texts[#texts + 1] = g
  texts[#texts + 1] = text
end
return {texts, created, out}
"""
)

ENQUEUE = (
    ITEMS
    + r"""
-- ARGV: prefix, id, kind, channel_key, rule_id, payload_json, now, due
-- Returns {id, its fields, ''}, or false if the id (idempotency key) exists already.
local p, id = ARGV[1], ARGV[2]
if redis.call('EXISTS', p .. 'delivery:' .. id) == 1 then return false end
new_item(p, id, {'kind', ARGV[3], 'r', ARGV[5], 'pl', ARGV[6], 'cr', ARGV[7]}, ARGV[4], ARGV[8])
local out = {}
reply(p, id, out)
return out
"""
)

LEASE = (
    ITEMS
    + r"""
-- ARGV: prefix, worker, now, lease_seconds, limit, max_attempts, platform...
-- Leases due items (and items whose lease ran out); parks items leased max_attempts times.
-- Returns per leased item: id, its fields, alert ids.
local p, me, now, lsec = ARGV[1], who(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
local limit, max = tonumber(ARGV[5]), tonumber(ARGV[6])
local out, taken = {}, 0
for j = 7, #ARGV do
  if taken >= limit then break end
  local q = p .. 'dq:' .. ARGV[j]
  local ids = redis.call('ZRANGEBYSCORE', q, '-inf', ARGV[3], 'LIMIT', 0, limit - taken)
  for _, id in ipairs(ids) do
    local f = iget(p, id, {'st', 'ls', 'att', 'err'})
    if f[1] ~= 'pending' then
      redis.call('ZREM', q, id)
    else
      local leases, att = tonumber(f[2]) or 0, tonumber(f[3]) or 0
      if leases >= max then
        local died = string.format('%d', leases - att)
        local text = 'worker died ' .. died .. ' times while delivering'
        if f[4] and f[4] ~= '' then text = text .. ' (last error: ' .. f[4] .. ')' end
        park_item(p, id, q, leases, text)
      else
        if string.find(id, '~', 1, true) then  -- a row keeps no `at` (nothing reads it)
          iset(p, id, 'by', me, 'lsec', ARGV[4], 'ls', leases + 1)
        else
          iset(p, id, 'by', me, 'at', ARGV[3], 'lsec', ARGV[4], 'ls', leases + 1)
        end
        redis.call('ZADD', q, fmt(now + lsec), id)
        taken = taken + 1
        reply(p, id, out)
      end
    end
  end
end
return out
"""
)

RENEW = (
    ITEMS
    + r"""
-- ARGV: prefix, id, worker, now. Restarts the lease if the worker still holds it: 1, else 0.
local p, id = ARGV[1], ARGV[2]
local f = iget(p, id, {'st', 'by', 'lsec', 'c'})
if f[1] ~= 'pending' or f[2] ~= who(ARGV[3]) then return 0 end
if not string.find(id, '~', 1, true) then iset(p, id, 'at', ARGV[4]) end
redis.call('ZADD', p .. 'dq:' .. platform_of(f[4]), fmt(tonumber(ARGV[4]) + tonumber(f[3])), id)
return 1
"""
)

SETTLE = (
    ITEMS
    + r"""
-- ARGV: prefix, id, action, now, then per action:
--   done: (nothing)               fail: error, max_attempts, retry_in ('' = back-off)
--   reschedule: due, reason       park: reason
-- Returns {id, its fields, alert ids} afterwards (empty fields if it is gone) for 'fail',
-- nothing for the other actions.
local p, id, action, now = ARGV[1], ARGV[2], ARGV[3], tonumber(ARGV[4])
local f = iget(p, id, {'st', 'c', 'att', 'ls'})
local out = {}
if f[1] ~= 'pending' then
  if action == 'fail' then reply(p, id, out) end
  return out
end
local q = p .. 'dq:' .. platform_of(f[2])
local att, leases = tonumber(f[3]) or 0, tonumber(f[4]) or 0
if action == 'done' then
  idone(p, id)
  redis.call('ZREM', q, id)
elseif action == 'fail' then
  att = att + 1
  if att >= tonumber(ARGV[6]) then
    park_item(p, id, q, att, ARGV[5])
  else
    local delay = tonumber(ARGV[7])
    if delay == nil then delay = math.min(30 * 2 ^ (att - 1), 900) end
    local due = fmt(now + delay)
    iset(p, id, 'att', att, 'err', ARGV[5], 'by', '', 'due', due)
    redis.call('ZADD', q, due, id)
  end
elseif action == 'reschedule' then
  local left = math.max(leases - 1, att)
  iset(p, id, 'by', '', 'due', ARGV[5], 'err', ARGV[6], 'ls', left)
  redis.call('ZADD', q, ARGV[5], id)
else
  park_item(p, id, q, att, ARGV[5])
end
if action == 'fail' then reply(p, id, out) end
return out
"""
)

PARK_CHANNELS = (
    ITEMS
    + r"""
-- ARGV: prefix, platform, reason ('' = delete instead of park), channel_key...
-- Parks (or deletes) the pending items of these channels; deleting also drops parked ones.
local p, reason = ARGV[1], ARGV[3]
local q = p .. 'dq:' .. ARGV[2]
local wanted = {}
for j = 4, #ARGV do wanted[ARGV[j]] = true end
local count = 0
local function sweep(ids, zkey)
  for _, id in ipairs(ids) do
    local f = iget(p, id, {'c', 'att'})
    if f[1] and wanted[f[1]] then
      count = count + 1
      if reason == '' then
        idel(p, id)
        redis.call('ZREM', zkey, id)
      else
        park_item(p, id, zkey, tonumber(f[2]) or 0, reason)
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

LIST = (
    ITEMS
    + r"""
-- ARGV: prefix. Pending and parked items: id, fields, alert ids per item (writes nothing).
-- A leased row keeps no `at`: its lease start is its queue score (the lease's end) - `lsec`.
local p = ARGV[1]
local out = {}
for _, platform in ipairs(redis.call('SMEMBERS', p .. 'deliveries:platforms')) do
  local q = p .. 'dq:' .. platform
  local ids = redis.call('ZRANGE', q, 0, -1, 'WITHSCORES')
  for j = 1, #ids, 2 do
    local id = ids[j]
    reply(p, id, out)
    if string.find(id, '~', 1, true) then
      local flat = out[#out - 1]
      local by, lsec = nil, nil
      for k = 1, #flat, 2 do
        if flat[k] == 'by' then by = flat[k + 1] end
        if flat[k] == 'lsec' then lsec = flat[k + 1] end
      end
      if by and by ~= '' and lsec then
        flat[#flat + 1] = 'at'
        flat[#flat + 1] = fmt(tonumber(ids[j + 1]) - tonumber(lsec))
      end
    end
  end
end
for _, id in ipairs(redis.call('ZRANGE', p .. 'deliveries:parked', 0, -1)) do reply(p, id, out) end
return out
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
-- history, digest slots, saved rules, snooze and held alerts (their items are removed by
-- PARK_CHANNELS). Returns how many.
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
  redis.call('DEL', p .. 'rules:' .. ckey, p .. 'held:' .. ckey)
  redis.call('ZREM', p .. 'snoozed', ckey)
end
return count
"""
