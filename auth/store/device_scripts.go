package store

// deviceLib holds what the device code scripts share, after scriptLib. A
// device code travels as the array {id, user, name, lists, ip, created,
// expires, interval, status, approver, granted, poll}.
const deviceLib = `
local deviceFields = {'user', 'name', 'lists', 'ip', 'created', 'expires', 'interval',
	'status', 'approver', 'granted', 'poll'}

local function getDevice(id)
	if not id then return nil end
	return record('device', id, deviceFields)
end

local function liveDevice(d, now)
	return d and tonumber(d[7]) > tonumber(now)
end

-- pendingByUser returns the pending device code of the user code, unexpired
-- at now, or nil.
local function pendingByUser(code, now)
	local d = getDevice(redis.call('GET', p .. 'devuser:' .. code))
	if liveDevice(d, now) and d[9] == 'pending' then return d end
	return nil
end
`

// createDeviceLua: id, user, name, lists, ip, created, expires, interval,
// kept until → 1; 0 if the user code is another's, unexpired at created;
// -1 if the id is taken.
const createDeviceLua = `
if late() then return redis.error_reply('DOORMAN_LATE') end
local id, user, created, expires = ARGV[5], ARGV[6], ARGV[10], ARGV[11]
local key, ukey = p .. 'device:' .. id, p .. 'devuser:' .. user
if liveDevice(getDevice(redis.call('GET', ukey)), created) then return 0 end
if redis.call('EXISTS', key) == 1 then return -1 end
redis.call('HSET', key, 'user', user, 'name', ARGV[7], 'lists', ARGV[8], 'ip', ARGV[9],
	'created', created, 'expires', expires, 'interval', ARGV[12], 'status', 'pending',
	'approver', '', 'granted', '[]', 'poll', 0)
redis.call('SET', ukey, id)
redis.call('PEXPIREAT', key, ARGV[13])
redis.call('PEXPIREAT', ukey, ARGV[13])
return 1
`

// deviceByUserLua: user code, now → the pending device code, or nil.
const deviceByUserLua = `
return pendingByUser(ARGV[5], ARGV[6]) or false
`

// decideDeviceLua: user code, approver, approve (1 or 0), the approver's
// lists (JSON), now → the device code as decided, or nil. Approving grants
// the lists asked for that are the approver's, in the order asked for, and
// denies when there are none.
const decideDeviceLua = `
if late() then return redis.error_reply('DOORMAN_LATE') end
local approver, approve, now = ARGV[6], ARGV[7], ARGV[9]
local d = pendingByUser(ARGV[5], now)
if not d then return false end
local granted = {}
if approve == '1' then
	local mine = {}
	for _, l in ipairs(cjson.decode(ARGV[8])) do mine[l] = true end
	for _, l in ipairs(cjson.decode(d[4])) do
		if mine[l] then table.insert(granted, l) end
	end
end
d[9], d[10], d[11] = 'denied', approver, '[]'
if #granted > 0 then d[9], d[11] = 'approved', cjson.encode(granted) end
redis.call('HSET', p .. 'device:' .. d[1], 'status', d[9], 'approver', d[10], 'granted', d[11])
return d
`

// pollDeviceLua: id, now → the device code as it was, or nil; an
// unexpired one's poll is set to now, never backwards.
const pollDeviceLua = `
if late() then return redis.error_reply('DOORMAN_LATE') end
local now = ARGV[6]
local d = getDevice(ARGV[5])
if liveDevice(d, now) and tonumber(now) > tonumber(d[12]) then
	redis.call('HSET', p .. 'device:' .. d[1], 'poll', now)
end
return d or false
`

// redeemDeviceLua: id, now, then the token's id, name, prefix, created,
// expires and used → the device code as redeemed; 0 if there is no approved,
// unexpired code of id; -1 if the token id is taken; -2 if the code was
// already redeemed. The token is the approver's, for the lists granted.
const redeemDeviceLua = `
if late() then return redis.error_reply('DOORMAN_LATE') end
local now = ARGV[6]
local d = getDevice(ARGV[5])
if not liveDevice(d, now) then return 0 end
if d[9] == 'redeemed' then return -2 end
if d[9] ~= 'approved' then return 0 end
if not makeToken(ARGV[7], d[10], ARGV[8], ARGV[9], d[11], ARGV[10], ARGV[11], ARGV[12]) then return -1 end
d[9] = 'redeemed'
redis.call('HSET', p .. 'device:' .. d[1], 'status', d[9], 'token', ARGV[7])
return d
`
