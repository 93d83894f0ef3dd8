"""The Lua prelude of the Redis outbox scripts: where an item lives, read and written (layout 3).

An item id `B~KEY` (B a bucket number in base 36, wrapping after `zzz`; KEY the 24-hex
idempotency key) is the row KEY of the bucket hash `P ob:B`: the alert messages of one print
are spread over that print's buckets (`P obp:REF` holds the first bucket number and how many
there are), about 64 rows each, so Redis keeps every bucket as one compact listpack. A row is
one short text, the fields of `ROW` joined by `|` (the error last, it may hold `|`); empty
fields take the defaults: state `pending`, counters 0, rule / group / created from the
bucket's header field `_` (`rule|group|created|platform`, written by the claim that made the
bucket), due = created; a channel key on the header's platform is kept as `:workspace:channel`;
the lessee as 10 hex digits of its SHA-1. Field `_n` counts the bucket's rows not yet
delivered; at 0 the bucket expires after 7 days. (A bucket number reused after wrapping while
its old bucket lives on only makes the new rows longer: they spell out what differs from the
header.) A row longer than 64 bytes (a long error) turns its bucket into a plain hash table:
bigger, but it works the same.

Any other id is a hash `P delivery:ID` (digests, notices and items of layout 2) with fields
`kind` (absent for alerts), `c` channel key, `r` rule, `g` alert group, `pl` payload JSON,
`cr` created, `due`, `att` failed attempts, `err` last error, `by` lessee, `at` leased at,
`lsec` lease seconds, `ls` leases, `st` state, `n` order.

`P group:G` holds the print id, the expiry (fixed-width UTC ISO) and the alert ids,
newline-separated, once for every channel that gets them. `P dq:PLATFORM` is a sorted set of
the platform's pending ids scored by the real time at which each is available: its due time,
or the end of its lease.
"""

from __future__ import annotations

ITEMS = r"""
local function platform_of(ckey) return string.match(ckey, '^([^:]+):') end
local function fmt(x) return string.format('%.6f', x) end
-- a lessee is kept as 10 hex digits of its SHA-1: short, and free of the row's '|'
local function who(worker) return string.sub(redis.sha1hex(worker), 1, 10) end
local DONE_TTL = 604800  -- a delivered item is kept 7 days, so its key is not reused
local GROUP_TTL = 7776000  -- 90 days, as the alert events
local ROW = {'c', 'n', 'ls', 'by', 'lsec', 'st', 'att', 'due', 'r', 'g', 'cr', 'err'}
local function locate(p, id)
  local b, key = string.match(id, '^(%w+)~(%x+)$')
  if b then return p .. 'ob:' .. b, key end
  return p .. 'delivery:' .. id, nil
end
local headers = {}
local function header(bkey)
  local h = headers[bkey]
  if not h then
    local text = redis.call('HGET', bkey, '_') or ''
    local r, g, cr, pf = string.match(text, '^([^|]*)|([^|]*)|([^|]*)|(.*)$')
    h = {r = r or '', g = g or '', cr = cr or '0', pf = pf or '', missing = text == ''}
    headers[bkey] = h
  end
  return h
end
local function row_decode(bkey, text)
  local t, pos, last = {}, 1, #ROW
  for i = 1, last do
    if pos > #text + 1 then break end
    local s = nil
    if i < last then s = string.find(text, '|', pos, true) end
    if s then
      t[ROW[i]] = string.sub(text, pos, s - 1)
      pos = s + 1
    else
      t[ROW[i]] = string.sub(text, pos)
      pos = #text + 2
    end
  end
  local h = header(bkey)
  if (t.st or '') == '' then t.st = 'pending' end
  if (t.r or '') == '' then t.r = h.r end
  if (t.g or '') == '' then t.g = h.g end
  if (t.cr or '') == '' then t.cr = h.cr end
  if t.c and string.sub(t.c, 1, 1) == ':' then t.c = h.pf .. t.c end
  if (t.due or '') == '' then t.due = t.cr end
  return t
end
local function row_encode(bkey, t)
  local h = header(bkey)
  local v = {}
  for i, f in ipairs(ROW) do
    local x = t[f]
    if x == nil or x == false then x = '' end
    v[i] = tostring(x)
  end
  local function clear(f, default)
    for i, name in ipairs(ROW) do
      if name == f and v[i] == default then v[i] = '' end
    end
  end
  local cr = v[11]
  clear('due', cr)
  clear('st', 'pending')
  clear('r', h.r)
  clear('g', h.g)
  clear('cr', h.cr)
  if h.pf ~= '' and string.sub(v[1], 1, #h.pf + 1) == h.pf .. ':' then
    v[1] = string.sub(v[1], #h.pf + 1)  -- ':workspace:channel' on the header's platform
  end
  clear('att', '0')
  clear('ls', '0')
  local n = #v
  while n > 1 and v[n] == '' do n = n - 1 end
  return table.concat(v, '|', 1, n)
end
-- iget / iall / iset / idel: HMGET / HGETALL / HSET / DEL of an item, hash or row alike.
local function iget(p, id, names)
  local key, field = locate(p, id)
  if not field then return redis.call('HMGET', key, unpack(names)) end
  local text = redis.call('HGET', key, field)
  local out = {}
  if text then
    local t = row_decode(key, text)
    for i, name in ipairs(names) do out[i] = t[name] or false end
  else
    for i = 1, #names do out[i] = false end
  end
  return out
end
local function iall(p, id)
  local key, field = locate(p, id)
  if not field then return redis.call('HGETALL', key) end
  local text = redis.call('HGET', key, field)
  if not text then return {} end
  local t, flat = row_decode(key, text), {}
  for _, name in ipairs(ROW) do
    if t[name] and t[name] ~= '' then
      flat[#flat + 1] = name
      flat[#flat + 1] = t[name]
    end
  end
  return flat
end
local function iset(p, id, ...)
  local key, field = locate(p, id)
  if not field then return redis.call('HSET', key, ...) end
  local text = redis.call('HGET', key, field)
  if not text then return 0 end
  local t, a = row_decode(key, text), {...}
  for j = 1, #a, 2 do t[a[j]] = a[j + 1] end
  redis.call('HSET', key, field, row_encode(key, t))
  return 0
end
local function settled(key)  -- one row fewer to deliver in bucket `key`
  if redis.call('HINCRBY', key, '_n', -1) <= 0 then redis.call('EXPIRE', key, DONE_TTL) end
end
local function idel(p, id)
  local key, field = locate(p, id)
  if not field then return redis.call('DEL', key) end
  local st = iget(p, id, {'st'})[1]
  if not st then return 0 end
  redis.call('HDEL', key, field)
  if st ~= 'done' then settled(key) end
  return 1
end
local function idone(p, id)
  local key, field = locate(p, id)
  if not field then
    redis.call('HSET', key, 'st', 'done', 'by', '')
    redis.call('EXPIRE', key, DONE_TTL)
    return
  end
  local t = row_decode(key, redis.call('HGET', key, field))
  local kept = {c = t.c, n = t.n, st = 'done', r = t.r, g = t.g, cr = t.cr}
  redis.call('HSET', key, field, row_encode(key, kept))
  settled(key)
end
local function park_item(p, id, q, att, err)
  local n = iget(p, id, {'n'})[1] or '0'
  iset(p, id, 'st', 'parked', 'att', att, 'err', err, 'by', '')
  redis.call('ZREM', q, id)
  redis.call('ZADD', p .. 'deliveries:parked', n, id)
end
local group_texts, group_refs = {}, {}
-- A group is "print id\nexpiry\nalert id\nalert id...": what its alerts share.
local function group_ref(p, pid, exp, ids)
  if ids == '' then return '' end
  local text = pid .. '\n' .. exp .. '\n' .. ids
  local g = group_refs[text]
  if g then return g end
  g = string.sub(redis.sha1hex(text), 1, 16)
  if not group_texts[g] then
    redis.call('SET', p .. 'group:' .. g, text, 'EX', GROUP_TTL)
    group_texts[g] = text
  end
  group_refs[text] = g
  return g
end
local group_cache = {}
local function group_ids(p, g)
  if not g or g == '' then return '' end
  if not group_cache[g] then group_cache[g] = redis.call('GET', p .. 'group:' .. g) or '' end
  return group_cache[g]
end
local function split_group(text)
  local pid, exp, ids = string.match(text, '^([^\n]*)\n([^\n]*)\n(.*)$')
  return pid or '', exp or '', ids or ''
end
local function reply(p, id, out)
  local flat = iall(p, id)
  local g = ''
  for j = 1, #flat, 2 do if flat[j] == 'g' then g = flat[j + 1] end end
  out[#out + 1] = id
  out[#out + 1] = flat
  out[#out + 1] = group_ids(p, g)
end
local platforms_seen = {}
local function queue(p, id, ckey, due)
  local platform = platform_of(ckey)
  redis.call('ZADD', p .. 'dq:' .. platform, due, id)
  if not platforms_seen[platform] then
    redis.call('SADD', p .. 'deliveries:platforms', platform)
    platforms_seen[platform] = true
  end
end
local function new_item(p, id, fields, ckey, due)  -- a hash `P delivery:ID`
  local ikey = p .. 'delivery:' .. id
  local n = redis.call('INCR', p .. 'deliveries:seq')
  redis.call('HSET', ikey, 'n', n, 'c', ckey, 'st', 'pending', 'due', due, unpack(fields))
  queue(p, id, ckey, due)
  return ikey, n
end
local live = {}  -- bucket key → rows added by this script (`_n` is raised by flush_live)
local function new_row(p, b, key, ckey, rule, g, now)  -- row KEY of bucket B; id, order
  local bkey, id = p .. 'ob:' .. b, b .. '~' .. key
  local n = redis.call('INCR', p .. 'deliveries:seq')
  local h = headers[bkey]
  if not h or h.missing then
    local pf = platform_of(ckey)
    if redis.call('HSETNX', bkey, '_', rule .. '|' .. g .. '|' .. now .. '|' .. pf) == 1 then
      h = {r = rule, g = g, cr = now, pf = pf}
      headers[bkey] = h
    else
      headers[bkey] = nil
      h = header(bkey)
    end
  end
  local text
  if h.r == rule and h.g == g and h.cr == now and h.pf == platform_of(ckey) then
    text = string.sub(ckey, #h.pf + 1) .. '|' .. n
  else
    text = row_encode(bkey, {c = ckey, n = n, r = rule, g = g, cr = now})
  end
  redis.call('HSET', bkey, key, text)
  live[bkey] = (live[bkey] or 0) + 1
  queue(p, id, ckey, now)
  return id, n
end
local function flush_live()
  for bkey, added in pairs(live) do
    if redis.call('HINCRBY', bkey, '_n', added) == added then redis.call('PERSIST', bkey) end
  end
  live = {}
end
local prints = {}
local function bucket_of(p, ref, count, key)  -- the bucket of KEY among its print's buckets
  local pr = prints[ref]
  if not pr then
    local rkey = p .. 'obp:' .. string.sub(redis.sha1hex(ref), 1, 16)
    local text = redis.call('GET', rkey)
    if not text then
      local m = math.max(1, math.ceil(count / 64))
      local top = redis.call('INCRBY', p .. 'deliveries:buckets', m)
      text = (top - m + 1) .. ' ' .. m
      redis.call('SET', rkey, text, 'EX', GROUP_TTL)
    end
    local base, m = string.match(text, '^(%d+) (%d+)$')
    pr = {base = tonumber(base), m = tonumber(m), names = {}}
    prints[ref] = pr
  end
  local index = tonumber(string.sub(key, 1, 6), 16) % pr.m
  local name = pr.names[index]
  if name then return name end
  local n = (pr.base + index) % 46656
  local digits = '0123456789abcdefghijklmnopqrstuvwxyz'
  name = ''
  repeat  -- base 36, at most 3 digits: ids stay 28 characters (a 32-byte string in Redis)
    name = string.sub(digits, n % 36 + 1, n % 36 + 1) .. name
    n = math.floor(n / 36)
  until n == 0
  pr.names[index] = name
  return name
end
"""
