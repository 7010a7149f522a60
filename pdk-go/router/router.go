// Package router is kong.Router: the route and service the current
// request matched (Lua's kong.router).
package router

import (
	"github.com/sluice-gw/sluice/pdk-go/bridge"
	"github.com/sluice-gw/sluice/pdk-go/entities"
)

// Router holds this module's functions. Accessible as `kong.Router`.
type Router struct {
	bridge.PdkBridge
}

// GetRoute returns the matched route (kong.router.get_route).
func (r Router) GetRoute() (route entities.Route, err error) {
	err = r.AskInto(&route, "kong.router.get_route")
	return
}

// GetService returns the matched route's service
// (kong.router.get_service).
func (r Router) GetService() (service entities.Service, err error) {
	err = r.AskInto(&service, "kong.router.get_service")
	return
}
