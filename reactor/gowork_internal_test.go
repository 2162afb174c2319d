package reactor

import (
	"testing"
)

// A flood of reports costs one CallFromGoroutine at a time, and the loop
// sees the latest value once per delivery.
func TestProgressBoxKeepsOneDeliveryInFlight(t *testing.T) {
	r, err := New(WithoutSignalHandlers())
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	var got []int
	b := &progressBox[int]{r: r, emit: func(v int) { got = append(got, v) }}
	queued := func() int {
		r.gmu.Lock()
		defer r.gmu.Unlock()
		return len(r.gq)
	}
	for i := range 1000 {
		b.report(i)
	}
	if n := queued(); n != 1 {
		t.Fatalf("1000 reports queued %d calls, want 1", n)
	}
	r.RunOnce(0)
	b.report(1000)
	b.report(1001)
	if n := queued(); n != 1 {
		t.Fatalf("after a delivery, 2 reports queued %d calls, want 1", n)
	}
	b.flush() // what the job's end does before settling: the last value now
	r.RunOnce(0)
	b.finish()
	b.report(2000) // after the work returned: dropped
	if n := queued(); n != 0 {
		t.Fatalf("a report after finish queued %d calls", n)
	}
	if want := []int{999, 1001}; len(got) != 2 || got[0] != want[0] || got[1] != want[1] {
		t.Errorf("delivered %v, want %v", got, want)
	}
}
