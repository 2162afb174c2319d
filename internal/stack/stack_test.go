package stack

import (
	"testing"
)

// Goid is called on every pass of a Fyne pump: it must allocate nothing.
func TestGoidAllocatesNothing(t *testing.T) {
	want := Goid()
	if want == 0 {
		t.Fatal("no goroutine id")
	}
	if n := testing.AllocsPerRun(1000, func() {
		if Goid() != want {
			t.Fatal("the id changed")
		}
	}); n != 0 {
		t.Errorf("Goid allocates %v times per call", n)
	}
	ch := make(chan uint64)
	go func() { ch <- Goid() }()
	if other := <-ch; other == want || other == 0 {
		t.Errorf("another goroutine's id is %d (ours %d)", other, want)
	}
}
