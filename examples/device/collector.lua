-- collector.lua: the collector of device.proto, served from Lua. Each
-- reading updates its sensor's summary; Report answers it, Note only
-- records.
local device = require "device_sky"

local sensors = {}

local function record(r)
    if r.sensor == "" then
        error({ code = "EINVAL", message = "a reading needs a sensor" })
    end
    local s = sensors[r.sensor]
    if not s then
        s = { sensor = r.sensor, count = 0, min = r.value, max = r.value }
        sensors[r.sensor] = s
    end
    s.count = s.count + 1
    s.min = math.min(s.min, r.value)
    s.max = math.max(s.max, r.value)
    return s
end

device.Collector.serve {
    Report = function(req) return record(req) end,
    Note = function(req) record(req) end,
}
