// Package service is kong.Service: where the current request is proxied
// (Lua's kong.service).
package service

import (
	"github.com/sluice-gw/sluice/pdk-go/bridge"
)

// Service holds this module's functions. Accessible as `kong.Service`.
type Service struct {
	bridge.PdkBridge
}

// SetUpstream sets the upstream (load-balancer) the request is proxied to
// (kong.service.set_upstream).
func (s Service) SetUpstream(host string) error {
	return s.Tell("kong.service.set_upstream", host)
}

// SetTarget sets the host and port the request is proxied to, bypassing
// load balancing (kong.service.set_target).
func (s Service) SetTarget(host string, port int) error {
	return s.Tell("kong.service.set_target", host, port)
}
