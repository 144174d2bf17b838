-- The Lua half of the interop test, run by lua_pb (see test_interop.sh).
--
--   lua_pb interop.lua encode FIXTURES DIR
--       encodes every case of FIXTURES (a Lua file returning a list of
--       { name, type, value }) with codec.encode into DIR/<name>.lua.pb
--   lua_pb interop.lua decode DIR
--       for each "<name> <type>" line of DIR/decode.txt, decodes
--       DIR/<name>.py.pb with codec.decode and writes the table's canonical
--       dump (below) to DIR/<name>.lua.txt, or "error: <message>" when
--       decode raised.
--
-- The canonical dump has one line per value, "<path> = <value>", sorted:
-- a table is "table", an integer is written in decimal, a float as
-- "float <%.17g>/<its 64 bits in hex>" ("float nan" for any NaN), a string
-- as "..." with every byte outside printable ASCII (and " and \) as \xHH,
-- and a boolean as true or false. A path is the keys from the root: a key
-- that is an identifier as .name, any other as [<value>]. interop.py writes
-- the same dump from Google's decoded message.

local function quote(s)
  return '"' .. s:gsub('.', function(c)
    local b = c:byte()
    if b < 32 or b > 126 or c == '"' or c == '\\' then
      return string.format('\\x%02x', b)
    end
  end) .. '"'
end

local function scalar(v)
  local t = math.type(v)
  if t == 'integer' then
    return string.format('%d', v)
  elseif t == 'float' then
    if v ~= v then return 'float nan' end
    return string.format('float %.17g/%s', v,
      (string.pack('>d', v):gsub('.', function(c)
        return string.format('%02x', c:byte())
      end)))
  elseif type(v) == 'boolean' then
    return tostring(v)
  elseif type(v) == 'string' then
    return quote(v)
  end
  error('a decoded table holds a ' .. type(v))
end

local function key(k)
  if type(k) == 'string' and k:match('^[%a_][%w_]*$') then return '.' .. k end
  return '[' .. scalar(k) .. ']'
end

local function walk(t, path, out)
  out[#out + 1] = path .. ' = table'
  for k, v in pairs(t) do
    local p = path .. key(k)
    if type(v) == 'table' then
      walk(v, p, out)
    else
      out[#out + 1] = p .. ' = ' .. scalar(v)
    end
  end
end

local function write(path, data)
  local f = assert(io.open(path, 'wb'))
  assert(f:write(data))
  assert(f:close())
end

local function read(path)
  local f = assert(io.open(path, 'rb'))
  local data = f:read('a')
  f:close()
  return data
end

local cmd = arg[1]
if cmd == 'encode' and arg[3] then
  local seen = {}
  for _, case in ipairs(dofile(arg[2])) do
    assert(not seen[case.name], 'two fixtures named ' .. case.name)
    seen[case.name] = true
    local ok, bytes = pcall(codec.encode, case.type, case.value)
    if not ok then error(case.name .. ': ' .. bytes, 0) end
    write(arg[3] .. '/' .. case.name .. '.lua.pb', bytes)
  end
elseif cmd == 'decode' and arg[2] then
  local dir = arg[2]
  for line in io.lines(dir .. '/decode.txt') do
    local name, typ = line:match('^(%S+) (%S+)$')
    assert(name, 'bad line in decode.txt: ' .. line)
    local ok, t = pcall(codec.decode, typ, read(dir .. '/' .. name .. '.py.pb'))
    local text
    if ok then
      local out = {}
      walk(t, '', out)
      table.sort(out)
      text = table.concat(out, '\n') .. '\n'
    else
      text = 'error: ' .. tostring(t) .. '\n'
    end
    write(dir .. '/' .. name .. '.lua.txt', text)
  end
else
  error('usage: lua_pb interop.lua encode FIXTURES DIR | decode DIR', 0)
end
