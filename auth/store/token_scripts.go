package store

// tokenLib holds what the token scripts share, after scriptLib. A token
// travels as the array {id, email, name, prefix, lists, created, expires,
// used, ended}.
const tokenLib = `
local tokenFields = {'email', 'name', 'prefix', 'lists', 'created', 'expires', 'used', 'ended'}

local function getToken(id)
	return record('token', id, tokenFields)
end

local function liveToken(t, now)
	return t and t[9] == '0' and tonumber(t[7]) > tonumber(now)
end

-- liveTokens returns the live tokens in the index key.
local function liveTokens(key, now)
	local out = {}
	for _, id in ipairs(redis.call('ZRANGEBYSCORE', key, '(' .. now, '+inf')) do
		local t = getToken(id)
		if liveToken(t, now) then table.insert(out, t) end
	end
	return out
end

-- makeToken adds a token and reports whether it did: not when its id is
-- taken, by a live token or by one ended or expired but not yet dropped.
local function makeToken(id, email, name, prefix, lists, created, expires, used)
	local key = p .. 'token:' .. id
	if redis.call('EXISTS', key) == 1 then return false end
	redis.call('HSET', key, 'email', email, 'name', name, 'prefix', prefix, 'lists', lists,
		'created', created, 'expires', expires, 'used', used, 'ended', 0)
	redis.call('PEXPIREAT', key, expires)
	redis.call('ZADD', p .. 'tokens', expires, id)
	local ekey = p .. 'tokens:' .. email
	redis.call('ZADD', ekey, expires, id)
	redis.call('PEXPIREAT', ekey, expires, 'NX')
	redis.call('PEXPIREAT', ekey, expires, 'GT')
	feed('token_made', id, expires, 'email', email, 'name', name, 'prefix', prefix,
		'lists', lists, 'created', created)
	return true
end

local function endToken(t, now, by)
	redis.call('HSET', p .. 'token:' .. t[1], 'ended', now, 'ended_by', by)
	redis.call('ZREM', p .. 'tokens', t[1])
	redis.call('ZREM', p .. 'tokens:' .. t[2], t[1])
	feed('token_ended', t[1], t[7])
end

-- purgeTokens drops the expired tokens from the indexes; their hashes
-- expire by themselves.
local function purgeTokens(now)
	for _, id in ipairs(redis.call('ZRANGEBYSCORE', p .. 'tokens', '-inf', now)) do
		local email = redis.call('HGET', p .. 'token:' .. id, 'email')
		if email then redis.call('ZREM', p .. 'tokens:' .. email, id) end
	end
	redis.call('ZREMRANGEBYSCORE', p .. 'tokens', '-inf', now)
end
`

// createTokenLua: id, email, name, prefix, lists, created, expires, used
// → 1, or 0 if the id is taken.
const createTokenLua = `
if late() then return redis.error_reply('DOORMAN_LATE') end
purgeTokens(ARGV[10])
if makeToken(ARGV[5], ARGV[6], ARGV[7], ARGV[8], ARGV[9], ARGV[10], ARGV[11], ARGV[12]) then return 1 end
return 0
`

// listTokensLua: email ("" for everyone), now → the live tokens.
const listTokensLua = `
local email, now = ARGV[5], ARGV[6]
local index = p .. 'tokens'
if email ~= '' then index = p .. 'tokens:' .. email end
return liveTokens(index, now)
`

// endTokenLua: email ("" for anyone's), id, by, now → the ended token, or nil.
const endTokenLua = `
if late() then return redis.error_reply('DOORMAN_LATE') end
local email, id, by, now = ARGV[5], ARGV[6], ARGV[7], ARGV[8]
local t = getToken(id)
if not liveToken(t, now) or (email ~= '' and t[2] ~= email) then return false end
endToken(t, now, by)
purgeTokens(now)
return t
`

// endTokensOfLua: email, by, now → the ended tokens.
const endTokensOfLua = `
if late() then return redis.error_reply('DOORMAN_LATE') end
local email, by, now = ARGV[5], ARGV[6], ARGV[7]
local out = liveTokens(p .. 'tokens:' .. email, now)
for _, t in ipairs(out) do endToken(t, now, by) end
purgeTokens(now)
return out
`

// touchTokensLua: id, used, id, used… → nothing. Unknown and ended tokens
// are skipped; times only move forwards.
const touchTokensLua = `
if late() then return redis.error_reply('DOORMAN_LATE') end
for i = 5, #ARGV, 2 do
	local key, used = p .. 'token:' .. ARGV[i], ARGV[i + 1]
	local t = redis.call('HMGET', key, 'used', 'ended')
	if t[1] and t[2] == '0' and tonumber(used) > tonumber(t[1]) then
		redis.call('HSET', key, 'used', used)
	end
end
return 0
`
