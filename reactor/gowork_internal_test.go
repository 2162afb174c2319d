package reactor

import (
	"slices"
	"testing"
	"time"
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
	r.RunOnce(0) // delivers 999
	b.report(1000)
	b.report(1001)
	if n := queued(); n != 0 {
		t.Fatalf("reports while the loop takes values each pass queued %d calls, want 0", n)
	}
	r.RunOnce(0) // takes 1001
	r.RunOnce(0) // finds nothing: the next report queues a delivery
	if len(got) != 2 {
		t.Fatalf("delivered %v, want two values", got)
	}
	b.report(1002)
	if n := queued(); n != 1 {
		t.Fatalf("a report after a quiet pass queued %d calls, want 1", n)
	}
	b.flush() // what the job's end does before settling: the last value now
	b.finish()
	b.report(2000) // after the work returned: dropped
	r.RunOnce(0)
	r.RunOnce(0)
	if want := []int{999, 1001, 1002}; !slices.Equal(got, want) {
		t.Errorf("delivered %v, want %v", got, want)
	}
}

// Observers see at most one value per pass, however fast the reports come.
func TestProgressBoxOneValuePerPass(t *testing.T) {
	r, err := New(WithoutSignalHandlers())
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	perPass := 0
	b := &progressBox[int]{r: r, emit: func(int) { perPass++ }}
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
				b.report(i)
			}
		}
	}()
	for range 200 {
		perPass = 0
		if err := r.RunOnce(time.Millisecond); err != nil {
			t.Fatal(err)
		}
		if perPass > 1 {
			t.Fatalf("%d values in one pass", perPass)
		}
	}
	close(stop)
	<-done
}
