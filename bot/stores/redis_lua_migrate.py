"""The Redis store's layout migration, run once (atomically) when a store opens to write.

Layout 1 (one stream `P outbox` with consumer group `deliver`, `outbox:errors`,
`outbox:parked`, trigger state in `P trigger:RULE` hashes) → layout 2 (a hash per item,
trigger state in the channel's hash) → layout 3 (claimed alert messages as rows of bucket
hashes, see `redis_lua_items.py`; trigger states in their compact form, see `redis_lua.py`)
→ layout 4 (channel controls: saved rules in `P rules:C`, named custom rules copied there;
the other new fields — snooze, watch list, muted — are read as absent = off).
Items of layout 2 stay hashes of their own, which every script still reads and writes;
`P layout2:items` (90 days) tells the claim to look for them when it joins a print's
pending message.
"""

from __future__ import annotations

from bot.stores.redis_lua import TRIGGER_STATE
from bot.stores.redis_lua_items import ITEMS

LAYOUT = 4
"""The Redis key layout this program writes (`P layout`)."""

MIGRATE = (
    ITEMS
    + TRIGGER_STATE
    + f"local LAYOUT = '{LAYOUT}'\n"
    + r"""
-- ARGV: prefix, now. Brings any older layout to layout 4; returns the items moved.
local p, now = ARGV[1], ARGV[2]
local layout = redis.call('GET', p .. 'layout')
if layout == LAYOUT then return 0 end
local moved = 0
local function to_layout_3()
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
  if state == 'parked' then park_item(p, k, p .. 'dq:' .. platform_of(c), att, err) end
  moved = moved + 1
end
local function from_layout_1()  -- (nothing to do on a fresh prefix)
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
end
if not layout then from_layout_1() end
-- layout 2 → 3: trigger states compact ('2025-01-27|3|1738011600.0|0|1' → '20250127|3|1738011600')
for _, ckey in ipairs(redis.call('SMEMBERS', p .. 'channels')) do
  local chkey = p .. 'channel:' .. ckey
  local flat = redis.call('HGETALL', chkey)
  for j = 1, #flat, 2 do
    if (flat[j] == 'inactive_reason' or flat[j] == 'mention') and flat[j + 1] == '' then
      redis.call('HDEL', chkey, flat[j])  -- absent means none
    elseif string.sub(flat[j], 1, 2) == 't:' then
      local s, r, f, a, c = state_read(flat[j + 1])
      if s and string.find(s, '-', 1, true) then
        f = string.match(f, '^(%-?%d+)%.0$') or f
        redis.call('HSET', chkey, flat[j], state_text((string.gsub(s, '-', '')), r, f, a, c))
      end
    end
  end
end
-- its items (hashes) stay where they are; claims look for them a while
if layout == '2' or moved > 0 then
  redis.call('SET', p .. 'layout2:items', '1', 'EX', GROUP_TTL)
end
end
if layout ~= '3' then to_layout_3() end
-- layout 3 → 4: a named custom rule is also kept in the channel's book (`P rules:C`), so
-- unsubscribing it no longer forgets it
for _, member in ipairs(redis.call('SMEMBERS', p .. 'custom')) do
  local ckey, rule = string.match(member, '^(.*)|([^|]*)$')
  if ckey and string.sub(rule, 1, 7) ~= 'custom:' then
    local text = redis.call('HGET', p .. 'rule:alert:' .. rule, ckey)
    local ok, sub = pcall(cjson.decode, text or '')
    if ok and type(sub) == 'table' and type(sub['e']) == 'string' then
      redis.call('HSETNX', p .. 'rules:' .. ckey, rule, sub['e'])
    end
  end
end
redis.call('SET', p .. 'layout', LAYOUT)
return moved
"""
)
