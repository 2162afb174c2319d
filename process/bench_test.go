package process_test

import (
	"os/exec"
	"testing"
	"time"

	"github.com/loomkit/loom/process"
	"github.com/loomkit/loom/reactor"
)

// endProto notes the end.
type endProto struct {
	ended bool
	err   error
}

func (p *endProto) ProcessStarted(*process.Process)     {}
func (p *endProto) DataReceived(process.Stream, []byte) {}
func (p *endProto) ProcessExited(error)                 {}
func (p *endProto) ProcessEnded(err error)              { p.ended, p.err = true, err }

// BenchmarkSpawnTrue is the latency from the start of a run of true to
// its end: os/exec's Run (stdio on /dev/null, a blocking Wait) against
// loom's Spawn (stdio on pipes the reactor drives, the exit through the
// pidfd, ProcessEnded once the pipes are closed) and Run (output
// collected, stdin on /dev/null).
func BenchmarkSpawnTrue(b *testing.B) {
	b.Run("exec", func(b *testing.B) {
		for b.Loop() {
			if err := exec.Command("true").Run(); err != nil {
				b.Fatal(err)
			}
		}
	})
	for _, m := range modes {
		b.Run("loom-spawn-"+m.name, func(b *testing.B) {
			r, err := reactor.New(reactor.WithoutSignalHandlers())
			if err != nil {
				b.Fatal(err)
			}
			defer r.Close()
			p := new(endProto)
			for b.Loop() {
				p.ended = false
				if _, err := process.Spawn(r, exec.Command("true"), p, m.opts...); err != nil {
					b.Fatal(err)
				}
				for !p.ended {
					r.RunOnce(-1)
				}
				if p.err != nil {
					b.Fatal(p.err)
				}
			}
		})
	}
	b.Run("loom-run", func(b *testing.B) {
		r, err := reactor.New(reactor.WithoutSignalHandlers())
		if err != nil {
			b.Fatal(err)
		}
		defer r.Close()
		for b.Loop() {
			done := false
			pr := process.Run(r, exec.Command("true"))
			pr.OnValue(func(process.Result) { done = true })
			pr.OnError(func(err error) { b.Fatal(err) })
			for !done {
				r.RunOnce(-1)
			}
		}
	})
}

// BenchmarkSpawnTrueRatio runs true through os/exec and through loom's
// Spawn in turn, one of each per iteration, so that both see the same
// machine, and reports each one's mean latency and their ratio
// (loom/exec).
func BenchmarkSpawnTrueRatio(b *testing.B) {
	r, err := reactor.New(reactor.WithoutSignalHandlers())
	if err != nil {
		b.Fatal(err)
	}
	defer r.Close()
	p := new(endProto)
	var execTime, loomTime time.Duration
	n := 0
	for b.Loop() {
		t0 := time.Now()
		if err := exec.Command("true").Run(); err != nil {
			b.Fatal(err)
		}
		t1 := time.Now()
		p.ended = false
		if _, err := process.Spawn(r, exec.Command("true"), p); err != nil {
			b.Fatal(err)
		}
		for !p.ended {
			r.RunOnce(-1)
		}
		if p.err != nil {
			b.Fatal(p.err)
		}
		loomTime += time.Since(t1)
		execTime += t1.Sub(t0)
		n++
	}
	b.ReportMetric(float64(execTime.Nanoseconds())/float64(n), "exec-ns/run")
	b.ReportMetric(float64(loomTime.Nanoseconds())/float64(n), "loom-ns/run")
	b.ReportMetric(float64(loomTime)/float64(execTime), "loom/exec")
}
