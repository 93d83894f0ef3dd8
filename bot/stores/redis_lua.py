"""Lua scripts of the Redis store: each runs atomically inside Redis.

The claim script mirrors `bot.stores.triggers.may_fire` / `after_fire`; the contract tests hold
both to the same behaviour. Key names follow docs/stores.md. The scripts build key names from
the prefix, so the store targets a single Redis (optionally replicated), not Redis Cluster.
"""

from __future__ import annotations

CLAIM = r"""
-- ARGV: prefix, rule_id, alert_id, session, rank, now, alert_json, alert_ttl, history_len,
--       then per item: channel_key, policy_kind, cooldown_seconds, idempotency_key
-- Returns a flat list: item index (0-based), stream entry id, ...
local p, rule, alert, session = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local rank, now = tonumber(ARGV[5]), tonumber(ARGV[6])
local tkey, inactive, stream = p .. 'trigger:' .. rule, p .. 'channels:inactive', p .. 'outbox'
local history_len = tonumber(ARGV[9])
local out = {}
local n = 0
for i = 10, #ARGV, 4 do
  local ckey, kind, cooldown, idem = ARGV[i], ARGV[i + 1], tonumber(ARGV[i + 2]), ARGV[i + 3]
  if redis.call('SISMEMBER', inactive, ckey) == 0 then
    local st = redis.call('HGET', tkey, ckey)
    local allow, count = true, 1
    if st then
      local s, r, f, a, c = string.match(st, '^([^|]*)|([^|]*)|([^|]*)|([^|]*)|([^|]*)$')
      r, f, count = tonumber(r), tonumber(f), tonumber(c) + 1
      if s == session and rank > r then allow = true
      elseif kind == 'once' then allow = false
      elseif kind == 'once_per_session' then allow = session > s
      else allow = (a == '1') and (now - f >= cooldown) end
    end
    if allow then
      redis.call('HSET', tkey, ckey, session .. '|' .. ARGV[5] .. '|' .. ARGV[6] .. '|0|' .. count)
      local id = redis.call('XADD', stream, '*', 'a', alert, 'c', ckey, 'k', idem, 'r', rule)
      local hkey = p .. 'history:' .. ckey
      redis.call('LPUSH', hkey, alert)
      redis.call('LTRIM', hkey, 0, history_len - 1)
      out[n + 1] = (i - 10) / 4
      out[n + 2] = id
      n = n + 2
    end
  end
end
if n > 0 then redis.call('SET', p .. 'alert:' .. alert, ARGV[7], 'EX', ARGV[8]) end
return out
"""

OBSERVE_FALSE = r"""
-- ARGV: prefix, rule_id, channel_key...   Re-arms cooldowns of channels that have fired.
local tkey = ARGV[1] .. 'trigger:' .. ARGV[2]
for i = 3, #ARGV do
  local st = redis.call('HGET', tkey, ARGV[i])
  if st then
    local s, r, f, a, c = string.match(st, '^([^|]*)|([^|]*)|([^|]*)|([^|]*)|([^|]*)$')
    if a ~= '1' then redis.call('HSET', tkey, ARGV[i], s .. '|' .. r .. '|' .. f .. '|1|' .. c) end
  end
end
return 0
"""

MARK_FAILED = r"""
-- ARGV: prefix, group, entry_id, item_json, error, max_attempts
-- Returns {state, attempts}; state is 'done' if the entry is already gone.
local p, group, id = ARGV[1], ARGV[2], ARGV[3]
local stream, errors = p .. 'outbox', p .. 'outbox:errors'
if #redis.call('XRANGE', stream, id, id) == 0 then return {'done', 0} end
local attempts = 1
local seen = redis.call('HGET', errors, id)
if seen then attempts = cjson.decode(seen)['attempts'] + 1 end
if attempts >= tonumber(ARGV[6]) then
  local item = cjson.decode(ARGV[4])
  item['attempts'] = attempts
  item['last_error'] = ARGV[5]
  redis.call('HSET', p .. 'outbox:parked', id, cjson.encode(item))
  redis.call('HDEL', errors, id)
  redis.call('XACK', stream, group, id)
  redis.call('XDEL', stream, id)
  return {'parked', attempts}
end
redis.call('HSET', errors, id, cjson.encode({attempts = attempts, last_error = ARGV[5]}))
return {'pending', attempts}
"""

ADD_SUBSCRIPTION = r"""
-- ARGV: prefix, kind, rule_id, channel_key, subscription_json
-- Returns 0 if the channel is unknown, else 1. Replacing an alert subscription with another
-- policy or expression forgets its trigger state (the new subscription starts afresh).
local p, kind, rule, ckey, text = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5]
if redis.call('EXISTS', p .. 'channel:' .. ckey) == 0 then return 0 end
local rkey = p .. 'rule:' .. kind .. ':' .. rule
local old = redis.call('HGET', rkey, ckey)
if old and kind == 'alert' then
  local before, after = cjson.decode(old), cjson.decode(text)
  if before['p'] ~= after['p'] or before['e'] ~= after['e'] then
    redis.call('HDEL', p .. 'trigger:' .. rule, ckey)
  end
end
redis.call('HSET', rkey, ckey, text)
redis.call('SADD', p .. 'chsubs:' .. ckey, kind .. '|' .. rule)
return 1
"""

TAKE_OVER = r"""
-- ARGV: prefix, group, consumer, min_idle_ms, count, max_attempts
-- XAUTOCLAIMs entries whose lease ran out. XAUTOCLAIM counts every delivery, so an entry
-- delivered more than max_attempts times (its workers keep dying, which records no failure)
-- is parked instead. Returns the claimed entries still to deliver: {id, {field, value...}}...
local p, group, me, max = ARGV[1], ARGV[2], ARGV[3], tonumber(ARGV[6])
local stream, errors = p .. 'outbox', p .. 'outbox:errors'
local reply = redis.call('XAUTOCLAIM', stream, group, me, ARGV[4], '0-0', 'COUNT', ARGV[5])
local out = {}
for _, entry in ipairs(reply[2]) do
  local id, fields = entry[1], entry[2]
  if fields and #fields > 0 then
    local deliveries = redis.call('XPENDING', stream, group, id, id, 1)[1][4]
    if deliveries > max then
      local item = {}
      for i = 1, #fields, 2 do item[fields[i]] = fields[i + 1] end
      local failed, last = 0, nil
      local seen = redis.call('HGET', errors, id)
      if seen then
        local failure = cjson.decode(seen)
        failed, last = failure['attempts'], failure['last_error']
      end
      local leases = deliveries - 1
      local died = string.format('%d', leases - failed)
      local text = 'worker died ' .. died .. ' times while delivering'
      if last then text = text .. ' (last error: ' .. last .. ')' end
      item['attempts'] = leases
      item['last_error'] = text
      redis.call('HSET', p .. 'outbox:parked', id, cjson.encode(item))
      redis.call('HDEL', errors, id)
      redis.call('XACK', stream, group, id)
      redis.call('XDEL', stream, id)
    else
      out[#out + 1] = entry
    end
  end
end
return out
"""

RENEW = r"""
-- ARGV: prefix, group, consumer, entry_id
-- Resets the entry's idle time (its lease) if the consumer still owns it: 1, else 0.
-- XCLAIM ... JUSTID does not count as a delivery.
local stream, group, me, id = ARGV[1] .. 'outbox', ARGV[2], ARGV[3], ARGV[4]
local pending = redis.call('XPENDING', stream, group, id, id, 1)
if #pending == 0 or pending[1][2] ~= me then return 0 end
redis.call('XCLAIM', stream, group, me, 0, id, 'JUSTID')
return 1
"""
