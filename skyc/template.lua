-- skyc's template engine (docs/skyc.md, "The template model").
--
-- A template is text in which a line whose first non-blank character is
-- `%` is a line of Lua, and `$(expr)` elsewhere is replaced by the value of
-- the Lua expression (`$$` is a literal `$`). A line holding nothing but
-- one `$(expr)` whose value is "" or ends in a newline stands for that
-- value alone, so `$(comment_c(m.comment, "    "))` leaves no blank line
-- when there is no comment.
--
-- A template compiles to one Lua chunk, one line of Lua per template line,
-- so Lua's errors name the template line.

local engine = {}

-- A Lua string literal on one line (%q continues a newline onto the next).
local function q(s)
  return (("%q"):format(s):gsub("\\\n", "\\n"))
end

-- Finds the end of the expression in `$(` ... `)` starting at line[i]
-- (just after the `(`): parentheses nest, Lua strings are skipped.
-- Returns the expression and the index after its `)`.
local function scan_expr(line, i, where)
  local depth, j = 1, i
  while j <= #line do
    local c = line:sub(j, j)
    if c == '"' or c == "'" then
      local k = j + 1
      while k <= #line and line:sub(k, k) ~= c do
        k = k + (line:sub(k, k) == "\\" and 2 or 1)
      end
      if k > #line then
        error(where .. ": unterminated string in $(...)", 0)
      end
      j = k + 1
    else
      if c == "(" then
        depth = depth + 1
      elseif c == ")" then
        depth = depth - 1
        if depth == 0 then
          return line:sub(i, j - 1), j + 1
        end
      end
      j = j + 1
    end
  end
  error(where .. ": unterminated $(", 0)
end

-- Lua source for one text line (without its newline).
local function text_line(line, newline, where)
  local code, lit = {}, {}
  local function flush()
    if #lit > 0 then
      code[#code + 1] = "_out(" .. q(table.concat(lit)) .. ")"
      lit = {}
    end
  end

  -- The standalone form: nothing but one $(expr) on the line.
  local lead, rest = line:match("^(%s*)%$%((.*)$")
  if lead then
    local ok, expr, after = pcall(scan_expr, rest, 1, where)
    if ok and rest:sub(after):match("^%s*$") then
      return ("_line((%s), %s, %s, %s, %s)"):format(
        expr, q(expr), q(lead), q(rest:sub(after) .. newline), q(where))
    end
  end

  local i = 1
  while i <= #line do
    local d = line:find("$", i, true)
    if not d then
      lit[#lit + 1] = line:sub(i)
      break
    end
    lit[#lit + 1] = line:sub(i, d - 1)
    local nxt = line:sub(d + 1, d + 1)
    if nxt == "$" then
      lit[#lit + 1] = "$"
      i = d + 2
    elseif nxt == "(" then
      local expr, after = scan_expr(line, d + 2, where)
      flush()
      code[#code + 1] = ("_out(_value((%s), %s, %s))"):format(expr, q(expr), q(where))
      i = after
    else
      lit[#lit + 1] = "$"
      i = d + 1
    end
  end
  lit[#lit + 1] = newline
  flush()
  return table.concat(code, " ")
end

-- Compiles template source `src` (named `name` in errors) to Lua source.
function engine.compile(src, name)
  local lines, n = {}, 0
  local pos = 1
  while pos <= #src do
    local nl = src:find("\n", pos, true)
    local line = src:sub(pos, (nl or #src + 1) - 1)
    n = n + 1
    local where = name .. ":" .. n
    local lua = line:match("^%s*%%(.*)$")
    if lua then
      lines[n] = lua
    else
      lines[n] = text_line(line, nl and "\n" or "", where)
    end
    pos = (nl or #src) + 1
  end
  return table.concat(lines, "\n")
end

local function value(v, expr, where)
  local t = type(v)
  if t == "string" then
    return v
  elseif t == "number" then
    return math.type(v) == "integer" and ("%d"):format(v) or tostring(v)
  elseif t == "boolean" then
    return tostring(v)
  end
  error(("%s: $(%s) is %s"):format(where, expr, t), 0)
end

-- The lines of a comment's text: one leading blank and trailing blanks
-- cut from each, blank lines at either end dropped; and the indent, a
-- string or a number of spaces.
local function comment_lines(text, indent)
  if type(indent) == "number" then
    indent = (" "):rep(indent)
  end
  local lines = {}
  for line in (tostring(text or "") .. "\n"):gmatch("(.-)\r?\n") do
    lines[#lines + 1] = line:gsub("^ ", "", 1):gsub("%s+$", "")
  end
  while #lines > 0 and lines[#lines] == "" do
    lines[#lines] = nil
  end
  while #lines > 0 and lines[1] == "" do
    table.remove(lines, 1)
  end
  return lines, indent or ""
end

-- Text as a C comment block, each line ending in a newline ("" for no
-- text). A comment from a .proto cannot end the block: "*/" and "/*"
-- inside it are broken up.
local function comment_c(text, indent)
  local lines
  lines, indent = comment_lines(text, indent)
  for i, line in ipairs(lines) do
    lines[i] = line:gsub("%*/", "* /"):gsub("/%*", "/ *")
  end
  if #lines == 0 then
    return ""
  elseif #lines == 1 then
    return indent .. "/* " .. lines[1] .. " */\n"
  end
  local out = { indent .. "/*\n" }
  for _, line in ipairs(lines) do
    out[#out + 1] = indent .. (line == "" and " *\n" or " * " .. line .. "\n")
  end
  out[#out + 1] = indent .. " */\n"
  return table.concat(out)
end

-- Text as Lua `--` comment lines, each ending in a newline ("" for no
-- text); `indent` as for comment_c.
local function comment_lua(text, indent)
  local lines
  lines, indent = comment_lines(text, indent)
  local out = {}
  for _, line in ipairs(lines) do
    out[#out + 1] = indent .. (line == "" and "--\n" or "-- " .. line .. "\n")
  end
  return table.concat(out)
end

-- Bytes as a Lua string literal: printable ASCII as is, the rest as
-- three-digit decimal escapes, in lines of about `width` characters
-- joined by "\z" (which skips the line break and the indent after it).
local function lua_quote(bytes, indent, width)
  if type(indent) == "number" then
    indent = (" "):rep(indent)
  end
  indent, width = indent or "", width or 96
  local parts, line = {}, {}
  local n = 0
  for i = 1, #bytes do
    local b = bytes:byte(i)
    local piece
    if b == 32 and #line == 0 and i > 1 then
      piece = "\\032" -- a blank after "\\z" would be skipped
    elseif b == 34 or b == 92 then
      piece = "\\" .. string.char(b)
    elseif b >= 32 and b < 127 then
      piece = string.char(b)
    else
      piece = ("\\%03d"):format(b)
    end
    line[#line + 1] = piece
    n = n + #piece
    if n >= width and i < #bytes then
      parts[#parts + 1] = table.concat(line)
      line, n = {}, 0
    end
  end
  parts[#parts + 1] = table.concat(line)
  return '"' .. table.concat(parts, "\\z\n" .. indent) .. '"'
end

-- Renders template source `src` (named `name`) for `file`; returns the text.
function engine.render(src, name, file, skyc)
  local buf = {}
  local function out(text)
    local t = type(text)
    if t ~= "string" and t ~= "number" then
      error("out() takes a string, got " .. t, 2)
    end
    buf[#buf + 1] = tostring(text)
  end
  local env = setmetatable({
    file = file,
    skyc = skyc,
    out = out,
    comment_c = comment_c,
    comment_lua = comment_lua,
    lua_quote = lua_quote,
    _out = out,
    _value = value,
    _line = function(v, expr, lead, tail, where)
      local s = value(v, expr, where)
      if s == "" or s:sub(-1) == "\n" then
        buf[#buf + 1] = s
      else
        buf[#buf + 1] = lead .. s .. tail
      end
    end,
  }, { __index = _G })
  local chunk, err = load(engine.compile(src, name), "=" .. name, "t", env)
  if not chunk then
    error(err, 0)
  end
  chunk()
  return table.concat(buf)
end

-- The model as sorted `path = value` lines, for tests: a message entry
-- met again (a method's input) prints as <message full.name>.
function engine.dump(file)
  local out = {}
  local function key_less(a, b)
    if type(a) == type(b) then
      return a < b
    end
    return type(a) == "number"
  end
  local function walk(path, v, seen)
    if type(v) ~= "table" then
      if type(v) == "string" then
        out[#out + 1] = path .. " = " .. q(v)
      elseif math.type(v) == "integer" then
        out[#out + 1] = ("%s = %d"):format(path, v)
      else
        out[#out + 1] = ("%s = %s"):format(path, tostring(v))
      end
      return
    end
    if seen[v] then
      out[#out + 1] = ("%s = <message %s>"):format(path, v.full_name)
      return
    end
    seen[v] = true
    local keys = {}
    for k in pairs(v) do
      keys[#keys + 1] = k
    end
    table.sort(keys, key_less)
    if #keys == 0 then
      out[#out + 1] = path .. " = {}"
    end
    for _, k in ipairs(keys) do
      local sub = type(k) == "number" and ("%s[%d]"):format(path, k) or path .. "." .. k
      walk(sub, v[k], seen)
    end
  end
  -- Messages first, so methods refer back to them.
  local seen = {}
  walk("file.messages", file.messages, seen)
  for _, k in ipairs({ "name", "base", "package", "c_prefix", "c_name", "syntax", "comment", "deps", "enums", "services" }) do
    walk("file." .. k, file[k], seen)
  end
  out[#out + 1] = ("file.descriptor_set = <%d bytes>"):format(#file.descriptor_set)
  return table.concat(out, "\n") .. "\n"
end

return engine
