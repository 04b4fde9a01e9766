/**
 * The Lua module nginx runs to route apps (lua-nginx-module and lua-resty-core's ngx.ssl, Debian's
 * libnginx-mod-http-lua). Two kinds of data, both written by the agent, both loaded into the
 * shared dict `paas_routes` when the agent asks (GET /sites, /routes/<app> on the loopback agent
 * server) or on first use after nginx starts:
 * - the sites table (/var/lib/paas/routes/_sites, see renderSites): which app each host name is,
 *   which names are HTTPS (and redirected), each app's certificate files and HSTS;
 * - each app's route file (/var/lib/paas/routes/<app>): its release's peers and balancing.
 * A release, a domain, a certificate or a new app therefore never changes nginx's configuration
 * nor reloads it, and no client connection is closed by any of them.
 *
 * Route file format, one item per line:
 *   version 12
 *   balance round_robin|least_conn|ip_hash|weighted
 *   peer <port> <weight> [<IPv4 address>]   (default 127.0.0.1; a Swarm task's node)
 */
export const PAAS_LUA = String.raw`-- paas: routes apps to their release's containers. Written by the paas agent; do not edit.
local balancer = require "ngx.balancer"

local M = {}
local routes = ngx.shared.paas_routes
local ROUTES_DIR = "/var/lib/paas/routes/"
local SITES_FILE = ROUTES_DIR .. "_sites"
local parsed = {}     -- per worker: app -> { raw = text, version, balance, peers = {{port, weight, addr, key}} }
local rr = {}         -- per worker: app -> round-robin position
local smooth = {}     -- per worker: app -> { raw, current weights } for weighted

local function read_path(path)
  local file = io.open(path, "r")
  if not file then return nil end
  local text = file:read("*a")
  file:close()
  return text
end

local function parse(text)
  local route = { version = 0, balance = "round_robin", peers = {} }
  for line in string.gmatch(text, "[^\n]+") do
    local key, a, b, c = string.match(line, "^(%a+)%s+(%S+)%s*(%S*)%s*(%S*)$")
    if key == "version" then route.version = tonumber(a) or 0
    elseif key == "balance" then route.balance = a
    elseif key == "peer" then
      local addr = string.match(c or "", "^%d+%.%d+%.%d+%.%d+$") or "127.0.0.1"
      -- key: what a peer is counted and remembered by (its port on this host, else address:port)
      route.peers[#route.peers + 1] = { port = tonumber(a), weight = tonumber(b) or 1, addr = addr, key = addr == "127.0.0.1" and a or (addr .. ":" .. a) }
    end
  end
  return route
end

local function route_of(app)
  local raw = routes:get(app)
  if not raw then
    raw = read_path(ROUTES_DIR .. app)
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
  local raw = read_path(ROUTES_DIR .. app)
  if raw then routes:set(app, raw) else routes:delete(app) end
  ngx.say(raw and ("version " .. parse(raw).version) or "none")
end

-- The sites table, parsed once per worker for each generation nginx holds.
local sites = { generation = nil, names = {}, apps = {} }
local certs = {}      -- per worker: certificate file -> { cert, key } (parsed), for the current generation

local function parse_sites(raw)
  local table_ = { names = {}, apps = {} }
  for line in string.gmatch(raw, "[^\n]+") do
    local kind, rest = string.match(line, "^(%a+) (.*)$")
    if kind == "generation" then table_.generation = rest
    elseif kind == "app" then
      local app, hsts, cert, key = string.match(rest, "^(%S+) (%d+)%s*(%S*)%s*(%S*)$")
      if app then table_.apps[app] = { hsts = tonumber(hsts) or 0, cert = cert ~= "" and cert or nil, key = key ~= "" and key or nil } end
    elseif kind == "name" then
      local name, app, https, redirect = string.match(rest, "^(%S+) (%S+) ([01]) ([01])$")
      if name then table_.names[name] = { app = app, https = https == "1", redirect = redirect == "1" } end
    end
  end
  return table_
end

local function sites_now()
  local generation = routes:get("sites:generation")
  if generation and generation == sites.generation then return sites end
  local raw = routes:get("sites")
  if not raw then
    raw = read_path(SITES_FILE)
    if not raw then
      -- No table at all (removed): route nothing, as a freshly started worker would.
      if sites.generation ~= nil then sites = { names = {}, apps = {} }; certs = {} end
      return sites
    end
    local parsed_ = parse_sites(raw)
    routes:set("sites", raw)
    routes:set("sites:generation", parsed_.generation or "")
  end
  local fresh = parse_sites(raw)
  fresh.generation = fresh.generation or ""
  sites = fresh
  certs = {}
  return sites
end

-- The name's entry: exact, else the wildcard one label up (*.example.com covers a.example.com).
local function lookup(host)
  if not host then return nil end
  host = string.lower(host)
  if string.sub(host, -1) == "." then host = string.sub(host, 1, -2) end
  local table_ = sites_now()
  local entry = table_.names[host]
  if entry then return entry, table_ end
  local parent = string.match(host, "^[^.]+%.(.+)$")
  if parent then return table_.names["*." .. parent], table_ end
  return nil, table_
end

-- The admin request: load the sites table into the shared dict; answer its generation.
function M.refresh_sites()
  local raw = read_path(SITES_FILE)
  if not raw then
    routes:delete("sites")
    routes:delete("sites:generation")
    return ngx.say("none")
  end
  local generation = parse_sites(raw).generation or ""
  routes:set("sites", raw)
  routes:set("sites:generation", generation)
  ngx.say("generation " .. generation)
end

-- rewrite_by_lua of every request: which app; unknown names 404, HTTPS names on plain HTTP 308.
function M.route()
  local entry, table_ = lookup(ngx.var.host)
  if not entry then
    ngx.status = 404
    ngx.header["Content-Type"] = "text/plain"
    ngx.say("no app is served at this host name")
    return ngx.exit(404)
  end
  local https = ngx.var.https == "on"
  if entry.redirect and not https then
    return ngx.redirect("https://" .. ngx.var.host .. ngx.var.request_uri, 308)
  end
  local ctx = ngx.ctx
  ctx.paas_app = entry.app
  local app = table_.apps[entry.app]
  if https and app and app.hsts > 0 then ctx.paas_hsts = app.hsts end
end

-- header_filter_by_lua: HSTS for the apps that ask for it, over HTTPS only.
function M.headers()
  local hsts = ngx.ctx.paas_hsts
  if hsts then ngx.header["Strict-Transport-Security"] = "max-age=" .. hsts end
end

-- The loopback probe: which app this host name is (the agent checks before it says "live").
function M.probe()
  local entry = lookup(ngx.var.host)
  if not entry then return ngx.exit(404) end
  ngx.say("paas app " .. entry.app)
end

-- ssl_certificate_by_lua: the certificate of the app the SNI name is, or no handshake at all.
function M.certificate()
  local ssl = require "ngx.ssl"
  local name = ssl.server_name()
  local entry, table_ = lookup(name)
  local app = entry and entry.https and table_.apps[entry.app]
  if not app or not app.cert then return ngx.exit(ngx.ERROR) end
  local pair = certs[app.cert]
  if not pair then
    local cert_pem, key_pem = read_path(app.cert), read_path(app.key)
    local cert, cert_err = cert_pem and ssl.parse_pem_cert(cert_pem)
    local key, key_err = key_pem and ssl.parse_pem_priv_key(key_pem)
    if not cert or not key then
      ngx.log(ngx.ERR, "paas: cannot load the certificate of ", entry.app, " (", app.cert, "): ", cert_err or key_err or "unreadable")
      return ngx.exit(ngx.ERROR)
    end
    pair = { cert = cert, key = key }
    certs[app.cert] = pair
  end
  local ok, err = ssl.clear_certs()
  if ok then ok, err = ssl.set_cert(pair.cert) end
  if ok then ok, err = ssl.set_priv_key(pair.key) end
  if not ok then
    ngx.log(ngx.ERR, "paas: cannot set the certificate of ", entry.app, ": ", err)
    return ngx.exit(ngx.ERROR)
  end
end

-- The peers this request has not tried yet (all of them when every one was tried).
local function candidates(route, tried)
  local list = {}
  for _, peer in ipairs(route.peers) do
    if not tried[peer.key] then list[#list + 1] = peer end
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
      local load = routes:get("inflight:" .. app .. ":" .. peer.key) or 0
      if not best or load < best_load then best, best_load = peer, load end
    end
    return best
  elseif route.balance == "weighted" then
    -- nginx's smooth weighted round robin, per worker, over the peers not tried yet
    local state = smooth[app]
    if not state or state.raw ~= route.raw then state = { raw = route.raw, current = {} }; smooth[app] = state end
    local total, best = 0, nil
    for _, peer in ipairs(peers) do
      state.current[peer.key] = (state.current[peer.key] or 0) + peer.weight
      total = total + peer.weight
      if not best or state.current[peer.key] > state.current[best.key] then best = peer end
    end
    state.current[best.key] = state.current[best.key] - total
    return best
  end
  return peers[(rr[app] - 1) % n + 1]
end

-- balancer_by_lua: choose the peer; on a retry (the previous peer failed) choose one not tried.
function M.balance()
  local app = ngx.ctx.paas_app
  local route = app and route_of(app)
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
  tried[peer.key] = true
  if route.balance == "least_conn" then
    routes:incr("inflight:" .. app .. ":" .. peer.key, 1, 0)
    ctx.paas_peer = peer.key
  end
  local ok, err = balancer.set_current_peer(peer.addr, peer.port)
  if not ok then ngx.log(ngx.ERR, "paas: ", err) end
  -- A task on another node: a node that is gone must not hold the request for nginx's 60 s.
  if peer.addr ~= "127.0.0.1" then balancer.set_timeouts(2, 60, 60) end
end

-- log_by_lua: the request is done with its peer.
function M.done()
  local peer = ngx.ctx.paas_peer
  if peer then routes:incr("inflight:" .. ngx.ctx.paas_app .. ":" .. peer, -1, 0) end
end

return M
`;
