// Package ip is kong.IP: whether an address is trusted per the gateway's
// trusted_ips setting (Lua's kong.ip).
package ip

import (
	"github.com/sluice-gw/sluice/pdk-go/bridge"
)

// Ip holds this module's functions. Accessible as `kong.IP`.
type Ip struct {
	bridge.PdkBridge
}

// IsTrusted reports whether address is trusted (kong.ip.is_trusted).
func (ip Ip) IsTrusted(address string) (bool, error) {
	return ip.AskBool("kong.ip.is_trusted", address)
}
