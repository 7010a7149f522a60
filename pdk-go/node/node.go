// Package node is kong.Node: facts about the gateway node (Lua's
// kong.node).
package node

import (
	"github.com/sluice-gw/sluice/pdk-go/bridge"
)

// Node holds this module's functions. Accessible as `kong.Node`.
type Node struct {
	bridge.PdkBridge
}

// SharedDictStats is the usage of one shared dict.
type SharedDictStats struct {
	AllocatedSlabs int64 `json:"allocated_slabs"`
	Capacity       int64 `json:"capacity"`
}

// WorkerLuaVmStats is the memory used by one worker's Lua VM.
type WorkerLuaVmStats struct {
	HttpAllocatedGc int64 `json:"http_allocated_gc"`
	Pid             int64 `json:"pid"`
}

// MemoryStats is the node's memory usage, shaped as go-pdk's.
type MemoryStats struct {
	LuaSharedDicts struct {
		Kong        SharedDictStats `json:"kong"`
		KongDbCache SharedDictStats `json:"kong_db_cache"`
	} `json:"lua_shared_dicts"`
	WorkersLuaVms []WorkerLuaVmStats `json:"workers_lua_vms"`
}

// GetId returns the node's v4 UUID (kong.node.get_id).
func (n Node) GetId() (string, error) {
	return n.AskString("kong.node.get_id")
}

// GetMemoryStats returns the node's memory usage, in bytes
// (kong.node.get_memory_stats).
func (n Node) GetMemoryStats() (ms MemoryStats, err error) {
	err = n.AskInto(&ms, "kong.node.get_memory_stats")
	return
}
