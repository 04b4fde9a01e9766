/**
 * The Lua module nginx runs to route apps (lua-nginx-module, Debian's libnginx-mod-http-lua).
 * Upstream peers live in /var/lib/paas/routes/<app> (written by the agent) and in the shared
 * dict `paas_routes`, loaded from that file when the agent asks (GET /routes/<app> on the
 * loopback admin server) or on first use after nginx starts. Switching a release therefore
 * never reloads nginx, and no client connection is closed by a deploy.
 *
 * Route file format, one item per line:
 *   version 12
 *   balance round_robin|least_conn|ip_hash|weighted
 *   peer <port> <weight>
 */
export const PAAS_LUA = String.raw`-- paas: routes apps to their release's containers. Written by the paas agent; do not edit.
local balancer = require "ngx.balancer"

local M = {}
local routes = ngx.shared.paas_routes
local ROUTES_DIR = "/var/lib/paas/routes/"
local parsed = {}     -- per worker: app -> { raw = text, version, balance, peers = {{port, weight}} }
local rr = {}         -- per worker: app -> round-robin position
local smooth = {}     -- per worker: app -> { raw, current weights } for weighted

local function read_file(app)
  local file = io.open(ROUTES_DIR .. app, "r")
  if not file then return nil end
  local text = file:read("*a")
  file:close()
  return text
end

local function parse(text)
  local route = { version = 0, balance = "round_robin", peers = {} }
  for line in string.gmatch(text, "[^\n]+") do
    local key, a, b = string.match(line, "^(%a+)%s+(%S+)%s*(%S*)$")
    if key == "version" then route.version = tonumber(a) or 0
    elseif key == "balance" then route.balance = a
    elseif key == "peer" then route.peers[#route.peers + 1] = { port = tonumber(a), weight = tonumber(b) or 1 } end
  end
  return route
end

local function route_of(app)
  local raw = routes:get(app)
  if not raw then
    raw = read_file(app)
    if not raw then return nil end
    routes:set(app, raw)
  end
  local cached = parsed[app]
  if cached and cached.raw == raw then return cached end
  local route = parse(raw)
  route.raw = raw
  parsed[app] = route
  return route
end

-- The admin request: load the app's file into the shared dict; answer the version now routed.
function M.refresh(app)
  if not string.match(app, "^[a-z][a-z0-9-]*$") then return ngx.exit(400) end
  local raw = read_file(app)
  if raw then routes:set(app, raw) else routes:delete(app) end
  ngx.say(raw and ("version " .. parse(raw).version) or "none")
end

-- The peers this request has not tried yet (all of them when every one was tried).
local function candidates(route, tried)
  local list = {}
  for _, peer in ipairs(route.peers) do
    if not tried[peer.port] then list[#list + 1] = peer end
  end
  if #list == 0 then return route.peers end
  return list
end

local function pick(app, route, tried)
  local peers = candidates(route, tried)
  local n = #peers
  if route.balance == "ip_hash" then
    return peers[ngx.crc32_short(ngx.var.remote_addr or "") % n + 1]
  end
  rr[app] = (rr[app] or 0) + 1
  if route.balance == "least_conn" then
    -- the fewest requests in flight; ties go round robin
    local best, best_load
    for i = 1, n do
      local peer = peers[(rr[app] + i - 2) % n + 1]
      local load = routes:get("inflight:" .. app .. ":" .. peer.port) or 0
      if not best or load < best_load then best, best_load = peer, load end
    end
    return best
  elseif route.balance == "weighted" then
    -- nginx's smooth weighted round robin, per worker, over the peers not tried yet
    local state = smooth[app]
    if not state or state.raw ~= route.raw then state = { raw = route.raw, current = {} }; smooth[app] = state end
    local total, best = 0, nil
    for _, peer in ipairs(peers) do
      state.current[peer.port] = (state.current[peer.port] or 0) + peer.weight
      total = total + peer.weight
      if not best or state.current[peer.port] > state.current[best.port] then best = peer end
    end
    state.current[best.port] = state.current[best.port] - total
    return best
  end
  return peers[(rr[app] - 1) % n + 1]
end

-- balancer_by_lua: choose the peer; on a retry (the previous peer failed) choose one not tried.
function M.balance(app)
  local route = route_of(app)
  if not route or #route.peers == 0 then return end -- the placeholder server fails: 502
  local ctx = ngx.ctx
  local tried = ctx.paas_tried
  if not tried then
    tried = {}
    ctx.paas_tried = tried
    if #route.peers > 1 then balancer.set_more_tries(#route.peers - 1) end
  end
  if ctx.paas_peer then
    routes:incr("inflight:" .. app .. ":" .. ctx.paas_peer, -1, 0)
    ctx.paas_peer = nil
  end
  local peer = pick(app, route, tried)
  tried[peer.port] = true
  if route.balance == "least_conn" then
    routes:incr("inflight:" .. app .. ":" .. peer.port, 1, 0)
    ctx.paas_peer = peer.port
  end
  local ok, err = balancer.set_current_peer("127.0.0.1", peer.port)
  if not ok then ngx.log(ngx.ERR, "paas: ", err) end
end

-- log_by_lua: the request is done with its peer.
function M.done(app)
  local port = ngx.ctx.paas_peer
  if port then routes:incr("inflight:" .. app .. ":" .. port, -1, 0) end
end

return M
`;
