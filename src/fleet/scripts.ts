// The fleet's Lua scripts, run by Redis atomically (EVALSHA, one round trip each). Redis keeps
// everything under the fleet's prefix `cost-watchdog:{<name>}:` (one hash slot):
//
//   m:<epoch minute>   hash: t (the fleet's µ$ in that minute), s:<0-59> (the fleet's µ$ in that
//                      second), h:<host> (a host's µ$ in that minute), x:<host>:<0-59> (a host's µ$
//                      in that second, as the host last said it). Expires once the longest rolling
//                      window (and the 10 minutes a clock may run ahead) has passed it.
//   d:<YYYY-MM-DD>     hash: <host> -> that host's µ$ on that local date. Expires after 3 days.
//   hosts              hash: <host> -> JSON {session, instance, fp, settings, last_ms, mode, version,
//                      silent_ms, refused_ms}: who pushes, with which settings, when they last
//                      did (a host refused for its settings keeps them here, marked refused).
//   levels             hash: <window> -> the level (0-3) the fleet was last announced at.
//   ack                hash: <window> -> the level a forced `clear-emergency --fleet` acknowledged.
//   emergency          JSON {id, level, window, spend, limit, since_ms, by}: the fleet emergency,
//                      until `clear-emergency --fleet`.
//   cleared            JSON {id, by, host, reason, at_ms, forced}: the last clear (8 days).
//   remind             the host that says the next reminder (expires after alerts.reminder).
//   events             pub/sub channel: "emergency" and "cleared", for `watch` hosts.
//
// A push is idempotent: a host sends its own total for each second (and each day) it changed, as
// absolute values; the script adds to the fleet only the difference from what that host said
// before. A retried push, or the same seconds pushed again after a crash, adds nothing. Each push
// names the session the host last had acknowledged and the next one; a host whose session Redis
// does not know (Redis restarted empty, restored from an older save, the host new, its last push
// unacknowledged) is told to resync: it then pushes every second of its horizon and its days.
//
// Nothing from a log line reaches Redis as a command: the scripts take one JSON argument built
// from numbers and the config's names (fleet, host, windows), and Redis sees only keys it makes.

const COMMON = `
local function num(v) if v == false or v == nil then return 0 end return tonumber(v) or 0 end
local function fmt(v) return string.format('%.0f', v) end
local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
local function rank_of(total, w)
  if w[5] >= 0 and total >= w[5] then return 3 end
  if w[4] >= 0 and total >= w[4] then return 2 end
  if w[3] >= 0 and total >= w[3] then return 1 end
  return 0
end
-- The fleet's spend in a rolling window of len seconds ending at now_sec (every second s with
-- s > now_sec - len, and seconds dated up to 10 minutes ahead), from the minute hashes.
local function rolling(P, now_sec, len)
  local from = now_sec - len
  local m0 = math.floor((from + 1) / 60)
  local m1 = math.floor((now_sec + 600) / 60)
  local total = 0
  for m = m0, m1 do
    local k = P .. 'm:' .. m
    if m * 60 > from then
      total = total + num(redis.call('HGET', k, 't'))
    else
      local fields = {}
      for s = (from + 1) - m * 60, 59 do fields[#fields + 1] = 's:' .. s end
      local vals = redis.call('HMGET', k, unpack(fields))
      for i = 1, #vals do total = total + num(vals[i]) end
    end
  end
  return total
end
local function daily(P, day)
  local total = 0
  local vals = redis.call('HVALS', P .. 'd:' .. day)
  for i = 1, #vals do total = total + num(vals[i]) end
  return total
end
local function decode_or_nil(v)
  if not v then return nil end
  local ok, out = pcall(cjson.decode, v)
  if ok and type(out) == 'table' then return out end
  return nil
end
`;

/**
 * push(args): apply a host's seconds and days, then read the fleet's windows, announce changes of
 * level to exactly one host, hold the fleet emergency, and find hosts gone silent.
 */
export const PUSH_SCRIPT = `${COMMON}
local a = cjson.decode(ARGV[1])
local P = a.p
local now = now_ms()
local now_sec = math.floor(now / 1000)
local hosts_key = P .. 'hosts'
local raw = redis.call('HGETALL', hosts_key)
local hosts = {}
for i = 1, #raw, 2 do hosts[raw[i]] = decode_or_nil(raw[i + 1]) or {} end

local me = hosts[a.host]
if me ~= nil and me.instance ~= nil and me.instance ~= a.instance and now - num(me.last_ms) < a.silent_ms then
  return cjson.encode({ now_ms = fmt(now), refused = 'instance', other = a.host,
    last_ms = fmt(num(me.last_ms)),
    emergency = decode_or_nil(redis.call('GET', P .. 'emergency')),
    cleared = decode_or_nil(redis.call('GET', P .. 'cleared')) })
end
-- Settings: every host of a fleet needs the same timezone and fleet limits. The hosts seen within
-- silent_after (accepted, or refused and kept with their settings) are counted per settings: a
-- host is refused when other settings are held by more hosts, or by as many with one of those
-- accepted (the settings in force win a tie). So one host set up otherwise cannot keep the others
-- out, and a change made on every host is accepted as the hosts come to it.
local function seen_ms(h) return math.max(num(h.last_ms), num(h.refused_ms)) end
local count = { [a.fp] = 1 }
for name, h in pairs(hosts) do
  if name ~= a.host and h.fp ~= nil and now - seen_ms(h) < a.silent_ms then
    count[h.fp] = (count[h.fp] or 0) + 1
  end
end
for name, h in pairs(hosts) do
  if name ~= a.host and h.fp ~= nil and h.fp ~= a.fp and now - seen_ms(h) < a.silent_ms then
    local in_force = h.refused_ms == nil and now - num(h.last_ms) < a.silent_ms
    if count[h.fp] > count[a.fp] or (count[h.fp] == count[a.fp] and in_force) then
      me = me or {}
      me.instance = a.instance
      me.fp = a.fp
      me.settings = a.settings
      me.refused_ms = now
      redis.call('HSET', hosts_key, a.host, cjson.encode(me))
      -- A refused host still honours the fleet emergency: it is told of it.
      return cjson.encode({ now_ms = fmt(now), refused = 'settings', other = name,
        settings = h.settings or '', last_ms = fmt(seen_ms(h)),
        emergency = decode_or_nil(redis.call('GET', P .. 'emergency')),
        cleared = decode_or_nil(redis.call('GET', P .. 'cleared')) })
    end
  end
end
-- The session changes with every push: a Redis that lost pushes (restarted empty, or from an
-- older save, or a replica that was behind) does not know the host's latest one: resync.
if not a.full and (me == nil or me.refused_ms ~= nil or me.session ~= a.session) then
  return cjson.encode({ now_ms = fmt(now), resync = true })
end

-- The host's seconds and days, at the values it says now; the fleet gains the difference.
local oldest_minute = math.floor((now_sec - a.roll_ttl) / 60)
for _, e in ipairs(a.secs) do
  local sec, v = e[1], e[2]
  local minute = math.floor(sec / 60)
  if minute > oldest_minute then
    local k = P .. 'm:' .. minute
    local s = sec - minute * 60
    local f = 'x:' .. a.host .. ':' .. s
    local d = v - num(redis.call('HGET', k, f))
    if d ~= 0 then
      redis.call('HSET', k, f, fmt(v))
      redis.call('HINCRBY', k, 't', fmt(d))
      redis.call('HINCRBY', k, 'h:' .. a.host, fmt(d))
      redis.call('HINCRBY', k, 's:' .. s, fmt(d))
    end
    redis.call('EXPIREAT', k, (minute + 1) * 60 + a.roll_ttl)
  end
end
for _, e in ipairs(a.days) do
  local k = P .. 'd:' .. e[1]
  redis.call('HSET', k, a.host, fmt(e[2]))
  redis.call('EXPIRE', k, a.day_ttl)
end

local out = { now_ms = fmt(now), windows = {}, grants = {}, silent = {}, refused_hosts = {} }
if me ~= nil and me.silent_ms ~= nil then out.back = fmt(num(me.last_ms)) end
me = me or {}
me.session = a.new_session
me.refused_ms = nil
me.refused_said = nil
me.instance = a.instance
me.fp = a.fp
me.settings = a.settings
me.last_ms = now
me.mode = a.mode
me.version = a.version
me.silent_ms = nil
redis.call('HSET', hosts_key, a.host, cjson.encode(me))

-- Hosts gone silent are said once (by the host that notices first); long gone ones are dropped.
local hosts_seen = 1
for name, h in pairs(hosts) do
  if name ~= a.host then
    local age = now - num(h.last_ms)
    if now - seen_ms(h) >= a.drop_ms then
      redis.call('HDEL', hosts_key, name)
    else
      if num(h.last_ms) > 0 then hosts_seen = hosts_seen + 1 end
      -- A host refused for its settings is said once, by the first accepted host to see it.
      if h.refused_ms ~= nil and h.refused_said == nil and now - num(h.refused_ms) < a.silent_ms then
        h.refused_said = now
        redis.call('HSET', hosts_key, name, cjson.encode(h))
        out.refused_hosts[#out.refused_hosts + 1] = { name, h.settings or '' }
      end
      if age >= a.silent_ms and h.silent_ms == nil and h.refused_ms == nil then
        h.silent_ms = now
        redis.call('HSET', hosts_key, name, cjson.encode(h))
        out.silent[#out.silent + 1] = { name, fmt(num(h.last_ms)) }
      end
    end
  end
end
out.hosts = hosts_seen

-- The windows, their levels, and who announces a change (the first host to see it).
local top, top_w, top_total = 0, nil, 0
for _, w in ipairs(a.windows) do
  local total
  if w[2] == 0 then total = daily(P, a.today) else total = rolling(P, now_sec, w[2]) end
  local rank = rank_of(total, w)
  out.windows[#out.windows + 1] = { w[1], fmt(total), rank }
  local stored = num(redis.call('HGET', P .. 'levels', w[1]))
  if rank > stored then
    redis.call('HSET', P .. 'levels', w[1], rank)
    out.grants[#out.grants + 1] = { w[1], rank, stored, fmt(total) }
  elseif rank == 0 and stored > 0 then
    redis.call('HDEL', P .. 'levels', w[1])
    out.grants[#out.grants + 1] = { w[1], 0, stored, fmt(total) }
  end
  local ack = num(redis.call('HGET', P .. 'ack', w[1]))
  if rank == 0 then redis.call('HDEL', P .. 'ack', w[1]) end
  local effective = rank
  if ack > 0 and rank <= ack and rank > 1 then effective = 1 end
  if effective > top then top, top_w, top_total = effective, w, total end
end

-- The fleet emergency: made at emergency or kill, raised to kill, kept until cleared.
local emergency = decode_or_nil(redis.call('GET', P .. 'emergency'))
if top >= 2 then
  local level = top == 3 and 'kill' or 'emergency'
  local limit = top == 3 and top_w[5] or top_w[4]
  if emergency == nil then
    emergency = { id = a.new_id, level = level, window = top_w[1], spend = fmt(top_total),
      limit = fmt(limit), since_ms = fmt(now), by = a.host }
    redis.call('SET', P .. 'emergency', cjson.encode(emergency))
    redis.call('PUBLISH', P .. 'events', 'emergency')
    out.made = true
  elseif emergency.level == 'emergency' and level == 'kill' then
    emergency.level = 'kill'
    emergency.window = top_w[1]
    emergency.spend = fmt(top_total)
    emergency.limit = fmt(limit)
    emergency.kill_ms = fmt(now)
    redis.call('SET', P .. 'emergency', cjson.encode(emergency))
    redis.call('PUBLISH', P .. 'events', 'emergency')
    out.made = true
  end
end
out.emergency = emergency
out.cleared = decode_or_nil(redis.call('GET', P .. 'cleared'))
return cjson.encode(out)
`;

/**
 * view(args): the fleet as it stands, without pushing: windows, each host's part of them, the
 * hosts and their last push, the emergency. For `status`, `run --dry-run` and `clear-emergency
 * --fleet`.
 */
export const VIEW_SCRIPT = `${COMMON}
local a = cjson.decode(ARGV[1])
local P = a.p
local now = now_ms()
local now_sec = math.floor(now / 1000)
local out = { now_ms = fmt(now), windows = {}, hosts = {}, parts = {} }
local raw = redis.call('HGETALL', P .. 'hosts')
for i = 1, #raw, 2 do
  local h = decode_or_nil(raw[i + 1]) or {}
  local last = num(h.last_ms)
  if last == 0 then last = num(h.refused_ms) end
  out.hosts[#out.hosts + 1] = { raw[i], fmt(last), h.mode or '', h.version or '',
    h.settings or '', h.silent_ms ~= nil, h.refused_ms ~= nil }
end
for _, w in ipairs(a.windows) do
  local total = 0
  local parts = {}
  if w[2] == 0 then
    local kv = redis.call('HGETALL', P .. 'd:' .. a.today)
    for i = 1, #kv, 2 do
      parts[kv[i]] = fmt(num(kv[i + 1]))
      total = total + num(kv[i + 1])
    end
  else
    local per = {}
    local from = now_sec - w[2]
    local m0 = math.floor((from + 1) / 60)
    local m1 = math.floor((now_sec + 600) / 60)
    for m = m0, m1 do
      local kv = redis.call('HGETALL', P .. 'm:' .. m)
      local whole = m * 60 > from
      local first = (from + 1) - m * 60
      for i = 1, #kv, 2 do
        local f, v = kv[i], num(kv[i + 1])
        if whole then
          if f == 't' then total = total + v
          elseif string.sub(f, 1, 2) == 'h:' then
            local h = string.sub(f, 3)
            per[h] = (per[h] or 0) + v
          end
        else
          local s = tonumber(string.match(f, '^s:(%d+)$'))
          if s ~= nil and s >= first then total = total + v end
          local h, hs = string.match(f, '^x:(.+):(%d+)$')
          if h ~= nil and tonumber(hs) >= first then per[h] = (per[h] or 0) + v end
        end
      end
    end
    for h, v in pairs(per) do parts[h] = fmt(v) end
  end
  out.windows[#out.windows + 1] = { w[1], fmt(total), rank_of(total, w) }
  out.parts[w[1]] = parts
end
out.emergency = decode_or_nil(redis.call('GET', P .. 'emergency'))
out.cleared = decode_or_nil(redis.call('GET', P .. 'cleared'))
return cjson.encode(out)
`;

/**
 * clear(args): end the fleet emergency (clear-emergency --fleet): the record goes (or the one the
 * clearing host holds, `held`, when Redis lost it), a tombstone naming it stays (so that each host
 * clears its own flag for that emergency, and only for it), forced levels are acknowledged, and
 * `watch` hosts hear of it at once.
 */
export const CLEAR_SCRIPT = `${COMMON}
local a = cjson.decode(ARGV[1])
local P = a.p
local now = now_ms()
local emergency = decode_or_nil(redis.call('GET', P .. 'emergency'))
for w, rank in pairs(a.ack) do redis.call('HSET', P .. 'ack', w, rank) end
-- Redis lost the record (restarted empty) but the clearing host still holds its flag for it: the
-- tombstone names that one, or the next check of every host that holds it would put it back.
if emergency == nil and type(a.held) == 'table' and type(a.held.id) == 'string' then
  local last = decode_or_nil(redis.call('GET', P .. 'cleared'))
  if last == nil or last.id ~= a.held.id then emergency = a.held end
end
if emergency == nil then
  return cjson.encode({ now_ms = fmt(now), none = true })
end
local tomb = { id = emergency.id, by = a.by, host = a.host, reason = a.reason, at_ms = fmt(now),
  forced = a.forced, level = emergency.level, window = emergency.window }
redis.call('SET', P .. 'cleared', cjson.encode(tomb), 'EX', 8 * 86400)
redis.call('DEL', P .. 'emergency')
redis.call('PUBLISH', P .. 'events', 'cleared')
return cjson.encode({ now_ms = fmt(now), cleared = emergency, tomb = tomb })
`;

/**
 * restore(args): put back a fleet emergency that Redis lost (restarted empty) while a host still
 * holds its flag for it, unless it was cleared since.
 */
export const RESTORE_SCRIPT = `${COMMON}
local a = cjson.decode(ARGV[1])
local P = a.p
local cleared = decode_or_nil(redis.call('GET', P .. 'cleared'))
if cleared ~= nil and cleared.id == a.record.id then return cjson.encode({ cleared = cleared }) end
local ok = redis.call('SET', P .. 'emergency', cjson.encode(a.record), 'NX')
if ok then redis.call('PUBLISH', P .. 'events', 'emergency') end
return cjson.encode({ restored = ok ~= false })
`;
