package server

import (
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"os"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/sluice-gw/sluice/pdk-go/bridge"
)

// defaultEventIdle is how long an event may wait for the gateway's next
// Step before it is abandoned (Kong's plugin servers expire idle instances
// after the same 60 s).
const defaultEventIdle = 60 * time.Second

// server holds the plugin server's state, shared by all connections: the
// gateway may send one event's Steps on different connections.
type server struct {
	plugin    *plugin
	loadTime  time.Time
	modTime   time.Time
	eventIdle time.Duration

	mu                sync.Mutex
	instances         map[int]*instance
	nextInstanceID    int
	events            map[int]*event
	nextEventID       int
	lastStartInstance time.Time
	lastCloseInstance time.Time
}

func newServer(p *plugin) *server {
	s := &server{
		plugin:    p,
		loadTime:  time.Now(),
		eventIdle: defaultEventIdle,
		instances: map[int]*instance{},
		events:    map[int]*event{},
	}
	if exe, err := os.Executable(); err == nil {
		if st, err := os.Stat(exe); err == nil {
			s.modTime = st.ModTime()
		}
	}
	return s
}

// serve accepts connections until the listener is closed.
func (s *server) serve(l net.Listener) error {
	for {
		c, err := l.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return nil
			}
			return err
		}
		go s.serveConn(c)
	}
}

// serveConn answers one connection's requests in order. Like Kong's Go
// plugin servers it first sends [2, "serverPid", pid], by which the
// gateway notices a restarted server.
func (s *server) serveConn(c net.Conn) {
	defer c.Close()
	conn := bridge.NewConn(c)
	if err := conn.WriteNotification("serverPid", os.Getpid()); err != nil {
		return
	}
	for {
		req, err := conn.ReadRequest()
		if err != nil {
			if err != io.EOF {
				log.Printf("closing connection: %v", err)
			}
			return
		}
		result, rpcErr := s.call(req.Method, req.Arg())
		if err := conn.WriteResponse(req.ID, rpcErr, result); err != nil {
			// Unencodable result (nothing was written) or a dead peer; the
			// second attempt tells which.
			if err := conn.WriteResponse(req.ID, fmt.Errorf("%s: %v", req.Method, err), nil); err != nil {
				return
			}
		}
	}
}

// call runs one RPC method. Method names and error texts are those of
// Kong's plugin servers.
func (s *server) call(method string, arg interface{}) (interface{}, error) {
	ns, name, _ := strings.Cut(method, ".")
	if ns != "plugin" {
		return nil, fmt.Errorf("RPC for %s is not supported", ns)
	}
	switch name {
	case "GetStatus":
		return s.status(), nil
	case "GetPluginInfo":
		return s.pluginInfo(arg)
	case "StartInstance":
		return s.startInstance(arg)
	case "InstanceStatus":
		return s.instanceStatus(arg)
	case "CloseInstance":
		return s.closeInstance(arg)
	case "HandleEvent":
		return s.handleEvent(arg)
	case "Step", "StepMultiMap", "StepCredential", "StepConsumer", "StepRoute", "StepService", "StepMemoryStats":
		return s.step(arg, false)
	case "StepError":
		return s.step(arg, true)
	}
	return nil, fmt.Errorf("rpc: can't find method %s", method)
}

func (s *server) pluginInfo(arg interface{}) (interface{}, error) {
	name, _ := arg.(string)
	if name != s.plugin.name {
		return nil, fmt.Errorf("%v not initialized: this server runs %s", arg, s.plugin.name)
	}
	return s.plugin.info(), nil
}

// pluginStatus is one plugin's entry in plugin.GetStatus.
type pluginStatus struct {
	Name              string
	Modtime           float64
	LoadTime          float64
	Instances         []instanceStatus
	LastStartInstance float64
	LastCloseInstance float64
}

// serverStatus is the result of plugin.GetStatus.
type serverStatus struct {
	Pid     int
	Plugins map[string]pluginStatus
}

func (s *server) status() serverStatus {
	s.mu.Lock()
	defer s.mu.Unlock()
	ids := make([]int, 0, len(s.instances))
	for id := range s.instances {
		ids = append(ids, id)
	}
	sort.Ints(ids)
	instances := make([]instanceStatus, 0, len(ids))
	for _, id := range ids {
		instances = append(instances, s.instances[id].status(s.plugin.name))
	}
	return serverStatus{
		Pid: os.Getpid(),
		Plugins: map[string]pluginStatus{s.plugin.name: {
			Name:              s.plugin.name,
			Modtime:           unixSeconds(s.modTime),
			LoadTime:          unixSeconds(s.loadTime),
			Instances:         instances,
			LastStartInstance: unixSeconds(s.lastStartInstance),
			LastCloseInstance: unixSeconds(s.lastCloseInstance),
		}},
	}
}

// unixSeconds is a time as Python's plugin server reports times: float
// seconds since the epoch, 0 for never.
func unixSeconds(t time.Time) float64 {
	if t.IsZero() {
		return 0
	}
	return float64(t.UnixNano()) / 1e9
}
