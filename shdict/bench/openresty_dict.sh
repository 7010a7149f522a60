#!/bin/bash
# The OpenResty side of examples/shdict_bench.rs: the same get/set/incr loops on a
# lua_shared_dict, run by WORKERS nginx workers at once (each in an init_worker timer), with
# the same output columns. Needs Debian's nginx-light and libnginx-mod-http-lua.
#
#   bash shdict/bench/openresty_dict.sh WORKERS OPS_PER_WORKER
set -euo pipefail
W=${1:-1}; M=${2:-1000000}; D=$(mktemp -d)
cat > $D/nginx.conf <<CONF
load_module /usr/lib/nginx/modules/ndk_http_module.so;
load_module /usr/lib/nginx/modules/ngx_http_lua_module.so;
worker_processes $W;
error_log $D/error.log notice;
pid $D/nginx.pid;
events { worker_connections 64; }
http {
  access_log off;
  lua_shared_dict bench 16m;
  init_worker_by_lua_block {
    ngx.timer.at(0, function()
      local d, N, M = ngx.shared.bench, $W, $M
      local keys = {}
      for i = 0, 1023 do keys[i] = "bench:key:" .. i end
      if ngx.worker.id() == 0 then for i = 0, 1023 do d:set(keys[i], string.rep("v", 32)) end end
      local own = "bench:proc:" .. ngx.worker.id()
      local ops = {
        get = function(i) return d:get(keys[i % 1024]) end,
        set = function(i) return d:set(keys[i % 1024], "vvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvv") end,
        incr = function(i) return d:incr("bench:counter", 1, 0) end,
        ["incr-own-key"] = function(i) return d:incr(own, 1, 0) end,
        ["get-miss"] = function(i) return d:get("bench:missing") end,
      }
      for _, name in ipairs({"get", "set", "incr", "incr-own-key", "get-miss"}) do
        d:incr("ready:" .. name, 1, 0)
        while d:get("ready:" .. name) < N do end
        local f = ops[name]
        ngx.update_time(); local t0 = ngx.now()
        for i = 1, M do f(i) end
        ngx.update_time()
        ngx.log(ngx.NOTICE, "RESULT ", name, " ", ngx.now() - t0)
      end
    end)
  }
}
CONF
nginx -p $D -c $D/nginx.conf
for i in $(seq 1 600); do
  n=$(grep -c "RESULT get-miss" "$D/error.log" 2>/dev/null || true)
  [ "$n" = "$W" ] && break; sleep 0.2
done
PID=$(cat "$D/nginx.pid")
kill "$PID"
while kill -0 "$PID" 2>/dev/null; do sleep 0.05; done
for op in get set incr incr-own-key get-miss; do
  grep "RESULT $op " $D/error.log | sed 's/.*RESULT [^ ]* //; s/,.*//' | sort -n | tail -1 | \
    awk -v op=$op -v w=$W -v m=$M '{printf "%-14s%6d%16.0f%14.1f\n", op, w, w*m/$1, $1*1e9/m}'
done
grep -E "\[(error|emerg|alert)\]" $D/error.log | head -3 || true
rm -rf "$D"
