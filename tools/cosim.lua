-- Wireshark dissector for the tag cosim writes at the start of every packet of `cosim export --format pcap`.
--
-- The tag is one ASCII line of `key=value` words after the word `cosim`, ended by a newline:
--   cosim kind=forward dir=up rsu=J12 round=3 batch=7 attempt=1/2 lost=1 pkt=2/5 bytes=6240 sinr_db=14.2 ...
-- kind: forward | aggregate; dir: up (RSU -> server) | down (server -> RSU); attempt=a/n: try a of the
-- n the message needed (lost=1 on every try but the last); pkt=i/m: packet i of the try's m; bytes: the
-- message's size; then the link model's fields of that direction where it reported them.
--
-- Use:  wireshark -X lua_script:tools/cosim.lua run.pcap
--       tshark -X lua_script:tools/cosim.lua -r run.pcap -Y "cosim.lost == 1" -T fields -e cosim.rsu -e cosim.round
-- or copy the file into Wireshark's personal Lua plugins folder (Help -> About -> Folders).
-- Display filters: cosim.kind == "forward", cosim.rsu == "J12", cosim.round == 3, cosim.lost == 1, cosim.attempt > 1 ...

local cosim = Proto("cosim", "cosim co-simulation message tag")

local f = cosim.fields
f.kind = ProtoField.string("cosim.kind", "Kind (forward or aggregate)")
f.dir = ProtoField.string("cosim.dir", "Direction (up: RSU to server, down: server to RSU)")
f.rsu = ProtoField.string("cosim.rsu", "RSU")
f.round = ProtoField.int32("cosim.round", "Round")
f.batch = ProtoField.int32("cosim.batch", "Batch (-1: aggregate)")
f.attempt = ProtoField.uint32("cosim.attempt", "Attempt")
f.attempts = ProtoField.uint32("cosim.attempts", "Attempts the message needed")
f.lost = ProtoField.bool("cosim.lost", "Lost try")
f.pkt = ProtoField.uint32("cosim.pkt", "Packet of the try")
f.pkts = ProtoField.uint32("cosim.pkts", "Packets in the try")
f.bytes = ProtoField.uint32("cosim.bytes", "Message size (bytes)")
f.cell = ProtoField.string("cosim.cell", "Cell")
f.cell_vehicles = ProtoField.uint32("cosim.cell_vehicles", "Vehicles in the cell")
f.sinr_db = ProtoField.double("cosim.sinr_db", "SINR (dB)")
f.cqi = ProtoField.uint32("cosim.cqi", "CQI")
f.se_bps_hz = ProtoField.double("cosim.se_bps_hz", "Spectral efficiency (bit/s/Hz)")
f.share = ProtoField.double("cosim.share", "Share of the link")
f.harq_tx = ProtoField.uint32("cosim.harq_tx", "HARQ transmissions")
f.rate_bps = ProtoField.double("cosim.rate_bps", "Rate while serialised (bit/s)")
f.outage_s = ProtoField.double("cosim.outage_s", "Waited for the RSU's backhaul outage (s)")
f.other = ProtoField.string("cosim.other", "Other field")

local STRING = { kind = true, dir = true, rsu = true, cell = true }
local NUMBER = {
    round = true, batch = true, bytes = true, cell_vehicles = true, sinr_db = true, cqi = true,
    se_bps_hz = true, share = true, harq_tx = true, rate_bps = true, outage_s = true,
}
local PAIR = { attempt = { f.attempt, f.attempts }, pkt = { f.pkt, f.pkts } }
local MAX_TAG = 1024

function cosim.dissector(tvb, pinfo, tree)
    local len = tvb:len()
    if len < 6 or tvb(0, 6):string() ~= "cosim " then
        return 0
    end
    local text = tvb(0, math.min(len, MAX_TAG)):string()
    local nl = text:find("\n", 1, true)
    if not nl then
        return 0
    end
    local tag = text:sub(1, nl - 1)
    local sub = tree:add(cosim, tvb(0, nl), "cosim tag")
    local v = {}
    local pos = 7 -- after "cosim "
    for word in tag:sub(7):gmatch("%S+") do
        local s = tag:find(word, pos, true)
        pos = s + #word
        local range = tvb(s - 1, #word)
        local key, value = word:match("^([%w_]+)=(.*)$")
        if key then
            v[key] = value
            if STRING[key] then
                sub:add(f[key], range, value)
            elseif NUMBER[key] and tonumber(value) then
                sub:add(f[key], range, tonumber(value))
            elseif PAIR[key] then
                local a, n = value:match("^(%d+)/(%d+)$")
                if a then
                    sub:add(PAIR[key][1], range, tonumber(a))
                    sub:add(PAIR[key][2], range, tonumber(n))
                end
            elseif key == "lost" then
                sub:add(f.lost, range, value == "1")
            else
                sub:add(f.other, range, word)
            end
        end
    end
    pinfo.cols.protocol = "COSIM"
    local info = string.format("%s %s rsu=%s round=%s batch=%s attempt %s", v.kind or "?", v.dir or "?",
        v.rsu or "?", v.round or "?", v.batch or "?", v.attempt or "?")
    if v.lost == "1" then
        info = info .. " [LOST]"
    end
    pinfo.cols.info = info .. " pkt " .. (v.pkt or "?")
    return len
end

local udp = DissectorTable.get("udp.port")
udp:add(50001, cosim) -- Forward
udp:add(50002, cosim) -- Aggregate
