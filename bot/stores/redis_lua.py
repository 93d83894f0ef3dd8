"""Lua scripts of the Redis store: each runs atomically inside Redis.

The claim script (in `redis_lua_outbox.py`) mirrors `bot.stores.triggers.may_fire` /
`after_fire`; the contract tests hold both to the same behaviour. Key names follow
docs/stores.md. The scripts build key names from the prefix, so the store targets a single
Redis (optionally replicated), not Redis Cluster.
"""

from __future__ import annotations

TRIGGER_STATE = r"""
-- A trigger state (field t:RULE of the channel's hash) is 'SESSION|RANK|FIRED': the session
-- as YYYYMMDD, fired at in epoch seconds (no '.0' when whole), then '|ARMED|COUNT' unless
-- they are 0 and 1.
local function state_read(st)
  local s, r, f, a, c = string.match(st, '^([^|]*)|([^|]*)|([^|]*)|([^|]*)|([^|]*)$')
  if not s then
    s, r, f = string.match(st, '^([^|]*)|([^|]*)|([^|]*)$')
    a, c = '0', '1'
  end
  return s, r, f, a, c
end
local function state_text(s, r, f, a, c)
  if a == '0' and tostring(c) == '1' then return s .. '|' .. r .. '|' .. f end
  return s .. '|' .. r .. '|' .. f .. '|' .. a .. '|' .. c
end
"""

OBSERVE_FALSE = (
    TRIGGER_STATE
    + r"""
-- ARGV: prefix, rule_id, channel_key...   Re-arms cooldowns of channels that have fired.
local tfield = 't:' .. ARGV[2]
for i = 3, #ARGV do
  local chkey = ARGV[1] .. 'channel:' .. ARGV[i]
  local st = redis.call('HGET', chkey, tfield)
  if st then
    local s, r, f, a, c = state_read(st)
    if a ~= '1' then redis.call('HSET', chkey, tfield, state_text(s, r, f, '1', c)) end
  end
end
return 0
"""
)

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
    redis.call('HDEL', p .. 'channel:' .. ckey, 't:' .. rule)
  end
end
redis.call('HSET', rkey, ckey, text)
redis.call('SADD', p .. 'chsubs:' .. ckey, kind .. '|' .. rule)
if kind == 'alert' and cjson.decode(text)['e'] ~= cjson.null then
  redis.call('SADD', p .. 'custom', ckey .. '|' .. rule)
elseif kind == 'alert' then
  redis.call('SREM', p .. 'custom', ckey .. '|' .. rule)
end
return 1
"""

SET_MUTED = r"""
-- ARGV: prefix, kind, rule_id, channel_key, muted (0/1). Returns 0 if there is no such
-- subscription. Its trigger state stays: unmuting does not make a `once` fire again.
local p, kind, rule, ckey, muted = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5]
local rkey = p .. 'rule:' .. kind .. ':' .. rule
local text = redis.call('HGET', rkey, ckey)
if not text then return 0 end
local sub = cjson.decode(text)
if muted == '1' then sub['m'] = 1 else sub['m'] = nil end
redis.call('HSET', rkey, ckey, cjson.encode(sub))
return 1
"""

CLAIM_REQUEST = r"""
-- ARGV: prefix, channel_key, name, now (epoch s), interval (s). Returns -1 for an unknown
-- channel, the earlier request's time if it came less than `interval` before, else 0.
local chkey = ARGV[1] .. 'channel:' .. ARGV[2]
if redis.call('EXISTS', chkey) == 0 then return -1 end
local field = 'r:' .. ARGV[3]
local before = redis.call('HGET', chkey, field)
if before and tonumber(ARGV[4]) - tonumber(before) < tonumber(ARGV[5]) then return before end
redis.call('HSET', chkey, field, ARGV[4])
return 0
"""
