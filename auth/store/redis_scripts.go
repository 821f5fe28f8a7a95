package store

import "github.com/redis/go-redis/v9"

// Redis key layout, every key under the prefix P ("doorman:" by default).
// Times are Unix milliseconds.
//
//	P meta             hash   epoch (names this data; set when missing), n (changes so far)
//	P feed             stream the change feed: epoch, n, kind, id, expires (a token_made's also
//	                          email, name, prefix, lists, created); trimmed to FeedLength
//	P session:<id>     hash   email, created, expires, seen (0: never), ua, ip; expires with the session
//	P sessions         zset   live session id → expires
//	P seen             zset   live session id → last seen, or created if never seen
//	P email:<email>    zset   one person's live session id → expires; expires with the last of them
//	P ended            zset   ended session id → expires; members dropped once expired
//	P budget:<list>:<window>  hash  email → used; expires at the window's Expires (list "" is the main list)
//	P token:<id>       hash   email, name, prefix, lists (JSON), created, expires, used (0: never),
//	                          ended (0: live), ended_by; kept, ended or not, until the token expires
//	P tokens           zset   live token id → expires
//	P tokens:<email>   zset   one person's live token id → expires; expires with the last of them
//	P device:<id>      hash   user (code), name, lists (JSON), ip, created, expires, interval, status,
//	                          approver, granted (JSON), poll (0: never), token; expires deviceCodeKept after the code
//	P devuser:<code>   string the id of the latest device code of that user code; expires with its hash
//
// Every change is one Lua script: atomic and one round trip. The scripts
// build their keys from the prefix, so Redis Cluster is NOT supported.
// Each script's ARGV starts with the prefix, an epoch to set if the data has
// none (new or wiped), the feed length and a deadline in Redis's clock
// (Unix milliseconds; 0 for none) after which a change must not be made;
// its own arguments follow. Every script that changes something starts
// with "if late() then return redis.error_reply('DOORMAN_LATE') end".

// scriptLib holds what the scripts share. A session travels as the array
// {id, email, created, expires, seen, ua, ip}.
const scriptLib = `
local p, newEpoch, feedLen, deadline = ARGV[1], ARGV[2], ARGV[3], tonumber(ARGV[4])
local fields = {'email', 'created', 'expires', 'seen', 'ua', 'ip'}

-- late reports whether Redis runs this after the deadline its caller gave
-- (0: none): a caller that timed out has answered "not done", so the
-- change must not happen now that Redis got round to it (it was frozen,
-- say, with the command in its buffer).
local function late()
	if deadline == 0 then return false end
	local t = redis.call('TIME')
	return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000) > deadline
end

-- record returns the named fields of the hash <kind>:<id> as {id, field,
-- …}, or nil when there is no such hash.
local function record(kind, id, names)
	local r = redis.call('HMGET', p .. kind .. ':' .. id, unpack(names))
	if not r[1] then return nil end
	table.insert(r, 1, id)
	return r
end

local function get(id)
	return record('session', id, fields)
end

local function live(s, now)
	return s and tonumber(s[4]) > tonumber(now)
end

-- feed appends a change, with more fields and values if given.
local function feed(kind, id, expires, ...)
	local meta = p .. 'meta'
	redis.call('HSETNX', meta, 'epoch', newEpoch)
	local n = redis.call('HINCRBY', meta, 'n', 1)
	local epoch = redis.call('HGET', meta, 'epoch')
	redis.call('XADD', p .. 'feed', 'MAXLEN', feedLen, '*',
		'epoch', epoch, 'n', n, 'kind', kind, 'id', id, 'expires', expires, ...)
end

local function unindex(id, email)
	redis.call('ZREM', p .. 'sessions', id)
	redis.call('ZREM', p .. 'seen', id)
	redis.call('ZREM', p .. 'email:' .. email, id)
end

local function finish(s)
	redis.call('DEL', p .. 'session:' .. s[1])
	unindex(s[1], s[2])
	redis.call('ZADD', p .. 'ended', s[4], s[1])
	feed('session_ended', s[1], s[4])
end

local function purge(now)
	for _, id in ipairs(redis.call('ZRANGEBYSCORE', p .. 'sessions', '-inf', now)) do
		local email = redis.call('HGET', p .. 'session:' .. id, 'email')
		if email then
			redis.call('ZREM', p .. 'email:' .. email, id)
			redis.call('DEL', p .. 'session:' .. id)
		end
		redis.call('ZREM', p .. 'seen', id)
	end
	redis.call('ZREMRANGEBYSCORE', p .. 'sessions', '-inf', now)
	redis.call('ZREMRANGEBYSCORE', p .. 'ended', '-inf', now)
end
`

// scripts are the compiled scripts, one per operation.
type scripts struct {
	create, list, end, endAll, idle, touch, position                   *redis.Script
	spend, used                                                        *redis.Script
	createToken, listTokens, endToken, endTokensOf, touchTokens        *redis.Script
	createDevice, deviceByUser, decideDevice, pollDevice, redeemDevice *redis.Script
}

func newScripts() scripts {
	return scripts{
		create:   redis.NewScript(scriptLib + createLua),
		list:     redis.NewScript(scriptLib + listLua),
		end:      redis.NewScript(scriptLib + endLua),
		endAll:   redis.NewScript(scriptLib + endAllLua),
		idle:     redis.NewScript(scriptLib + idleLua),
		touch:    redis.NewScript(scriptLib + touchLua),
		position: redis.NewScript(scriptLib + positionLua),
		spend:    redis.NewScript(scriptLib + spendLua),
		used:     redis.NewScript(scriptLib + usedLua),

		createToken: redis.NewScript(scriptLib + tokenLib + createTokenLua),
		listTokens:  redis.NewScript(scriptLib + tokenLib + listTokensLua),
		endToken:    redis.NewScript(scriptLib + tokenLib + endTokenLua),
		endTokensOf: redis.NewScript(scriptLib + tokenLib + endTokensOfLua),
		touchTokens: redis.NewScript(scriptLib + tokenLib + touchTokensLua),

		createDevice: redis.NewScript(scriptLib + deviceLib + createDeviceLua),
		deviceByUser: redis.NewScript(scriptLib + deviceLib + deviceByUserLua),
		decideDevice: redis.NewScript(scriptLib + deviceLib + decideDeviceLua),
		pollDevice:   redis.NewScript(scriptLib + deviceLib + pollDeviceLua),
		redeemDevice: redis.NewScript(scriptLib + tokenLib + deviceLib + redeemDeviceLua),
	}
}

// createLua: id, email, created, expires, seen, ua, ip → 1, or 0 if the id is taken.
const createLua = `
if late() then return redis.error_reply('DOORMAN_LATE') end
local id, email, created, expires, seen = ARGV[5], ARGV[6], ARGV[7], ARGV[8], ARGV[9]
purge(created)
local key = p .. 'session:' .. id
if redis.call('EXISTS', key) == 1 or redis.call('ZSCORE', p .. 'ended', id) then return 0 end
redis.call('HSET', key, 'email', email, 'created', created, 'expires', expires,
	'seen', seen, 'ua', ARGV[10], 'ip', ARGV[11])
redis.call('PEXPIREAT', key, expires)
redis.call('ZADD', p .. 'sessions', expires, id)
local idle = created
if tonumber(seen) > tonumber(created) then idle = seen end
redis.call('ZADD', p .. 'seen', idle, id)
local ekey = p .. 'email:' .. email
redis.call('ZADD', ekey, expires, id)
redis.call('PEXPIREAT', ekey, expires, 'NX')
redis.call('PEXPIREAT', ekey, expires, 'GT')
return 1
`

// listLua: email ("" for everyone), now → the live sessions.
const listLua = `
local email, now = ARGV[5], ARGV[6]
local index = p .. 'sessions'
if email ~= '' then index = p .. 'email:' .. email end
local out = {}
for _, id in ipairs(redis.call('ZRANGEBYSCORE', index, '(' .. now, '+inf')) do
	local s = get(id)
	if live(s, now) then table.insert(out, s) end
end
return out
`

// endLua: email ("" for anyone's), id, now → the ended session, or nil.
const endLua = `
if late() then return redis.error_reply('DOORMAN_LATE') end
local email, id, now = ARGV[5], ARGV[6], ARGV[7]
local s = get(id)
if not live(s, now) or (email ~= '' and s[2] ~= email) then return false end
finish(s)
purge(now)
return s
`

// endAllLua: email, now → the ended sessions.
const endAllLua = `
if late() then return redis.error_reply('DOORMAN_LATE') end
local email, now = ARGV[5], ARGV[6]
local ekey = p .. 'email:' .. email
local out = {}
for _, id in ipairs(redis.call('ZRANGEBYSCORE', ekey, '(' .. now, '+inf')) do
	local s = get(id)
	if live(s, now) then
		finish(s)
		table.insert(out, s)
	elseif not s then
		redis.call('ZREM', ekey, id)
	end
end
purge(now)
return out
`

// idleLua: cutoff, now → the sessions ended for being idle.
const idleLua = `
if late() then return redis.error_reply('DOORMAN_LATE') end
local cutoff, now = ARGV[5], ARGV[6]
local out = {}
for _, id in ipairs(redis.call('ZRANGEBYSCORE', p .. 'seen', '-inf', '(' .. cutoff)) do
	local s = get(id)
	if live(s, now) then
		finish(s)
		table.insert(out, s)
	elseif not s then
		redis.call('ZREM', p .. 'seen', id)
	end
end
purge(now)
return out
`

// touchLua: id, seen, id, seen… → nothing. Unknown and ended ids have no
// session hash and are skipped; times only move forwards.
const touchLua = `
if late() then return redis.error_reply('DOORMAN_LATE') end
for i = 5, #ARGV, 2 do
	local id, t = ARGV[i], ARGV[i + 1]
	local key = p .. 'session:' .. id
	local cur = redis.call('HGET', key, 'seen')
	if cur and tonumber(t) > tonumber(cur) then
		redis.call('HSET', key, 'seen', t)
		redis.call('ZADD', p .. 'seen', 'GT', t, id)
	end
end
return 0
`

// positionLua: → {epoch, n, last stream id}: where the feed is.
const positionLua = `
local meta = p .. 'meta'
redis.call('HSETNX', meta, 'epoch', newEpoch)
local v = redis.call('HMGET', meta, 'epoch', 'n')
local last = redis.call('XREVRANGE', p .. 'feed', '+', '-', 'COUNT', 1)
local at = '0-0'
if last[1] then at = last[1][1] end
return {v[1], v[2] or '0', at}
`

// spendLua: email, cost, then key, limit, expires of each window →
// {1 if added else 0, each window's counter after}. It checks every
// counter before it adds to any; a new key expires with its window, and a
// later expiry given for it extends it.
const spendLua = `
if late() then return redis.error_reply('DOORMAN_LATE') end
local email, cost = ARGV[5], tonumber(ARGV[6])
local used, fits = {}, 1
for i = 7, #ARGV, 3 do
	local u = tonumber(redis.call('HGET', ARGV[i], email) or '0')
	if u + cost > tonumber(ARGV[i + 1]) then fits = 0 end
	table.insert(used, u)
end
if fits == 1 then
	for i = 7, #ARGV, 3 do
		local key, expires = ARGV[i], ARGV[i + 2]
		used[(i - 4) / 3] = redis.call('HINCRBY', key, email, cost)
		redis.call('PEXPIREAT', key, expires, 'NX')
		redis.call('PEXPIREAT', key, expires, 'GT')
	end
end
return {fits, unpack(used)}
`

// usedLua: email, then keys → each key's counter of email (0 for none).
const usedLua = `
local email, used = ARGV[5], {}
for i = 6, #ARGV do
	table.insert(used, tonumber(redis.call('HGET', ARGV[i], email) or '0'))
end
return used
`
