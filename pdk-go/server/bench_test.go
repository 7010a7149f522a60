package server

import (
	"net"
	"path/filepath"
	"testing"

	"github.com/sluice-gw/sluice/pdk-go"
	gw "github.com/sluice-gw/sluice/pdk-go/internal/gatewaytest"
)

type benchConfig struct{}

func (benchConfig) Access(kong *pdk.PDK) {
	host, _ := kong.Request.GetHeader("host")
	kong.Response.SetHeader("x-host", host)
}

func benchListen(b *testing.B, s *server) (string, func()) {
	path := filepath.Join(b.TempDir(), "go-bench.socket")
	l, err := net.Listen("unix", path)
	if err != nil {
		b.Fatal(err)
	}
	go s.serve(l)
	return path, func() { l.Close() }
}

// BenchmarkAccessEventTwoCalls measures one access event making two PDK
// calls (a header read and a response header write) over the unix socket:
// HandleEvent, two Steps.
func BenchmarkAccessEventTwoCalls(b *testing.B) {
	p, err := newPlugin("go-bench", func() interface{} { return &benchConfig{} }, "1.0.0", 0)
	if err != nil {
		b.Fatal(err)
	}
	s := newServer(p)
	path, stop := benchListen(b, s)
	defer stop()
	c, err := gw.Dial(path)
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	id, err := c.StartInstance("go-bench", `{}`)
	if err != nil {
		b.Fatal(err)
	}
	answer := func(call gw.PDKCall) gw.Answer { return gw.Reply(call, "example.com") }
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if calls, err := c.Event(id, "access", answer); err != nil || len(calls) != 2 {
			b.Fatalf("%v %v", calls, err)
		}
	}
}
