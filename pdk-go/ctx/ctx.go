// Package ctx is kong.Ctx: kong.ctx.shared, the table of the current
// request shared by all plugins (Lua and external alike).
package ctx

import (
	"github.com/sluice-gw/sluice/pdk-go/bridge"
)

// Ctx holds this module's functions. Accessible as `kong.Ctx`.
type Ctx struct {
	bridge.PdkBridge
}

// SetShared sets kong.ctx.shared[k] = value; value may be any value the
// msgpack encoder takes (scalars, slices, maps, structs)
// (kong.ctx.shared.set).
func (c Ctx) SetShared(k string, value interface{}) error {
	return c.Tell("kong.ctx.shared.set", k, value)
}

// GetSharedAny returns kong.ctx.shared[k] as decoded from msgpack
// (kong.ctx.shared.get).
func (c Ctx) GetSharedAny(k string) (interface{}, error) {
	return c.Ask("kong.ctx.shared.get", k)
}

// GetSharedString returns kong.ctx.shared[k], which must be a string.
func (c Ctx) GetSharedString(k string) (string, error) {
	return c.AskString("kong.ctx.shared.get", k)
}

// GetSharedFloat returns kong.ctx.shared[k], which must be a number.
func (c Ctx) GetSharedFloat(k string) (float64, error) {
	return c.AskFloat("kong.ctx.shared.get", k)
}

// GetSharedInt returns kong.ctx.shared[k], which must be an integer
// (go-pdk ≤ 0.6 had it; kept for ports).
func (c Ctx) GetSharedInt(k string) (int, error) {
	return c.AskInt("kong.ctx.shared.get", k)
}
