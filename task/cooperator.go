package task

import (
	"iter"
	"slices"
	"time"

	"github.com/loomkit/loom/deferred"
	"github.com/loomkit/loom/reactor"
)

// DefaultSlice is how long a Cooperator runs work units before it lets
// the reactor go on, unless WithSlice says otherwise (Twisted's 10ms).
const DefaultSlice = 10 * time.Millisecond

// A Cooperator runs long jobs on the reactor goroutine without freezing
// it (Twisted's Cooperator). A job is an iterator, each step of which is
// a unit of work; the Cooperator runs units, taking its tasks in turn,
// until a time slice is spent, then lets the reactor make a pass (timers,
// I/O, GUI redraws) before the next slice.
//
// Each value a job yields decides what happens next:
//
//   - nil, or any other value: the task goes on (the value is ignored);
//   - a *deferred.Deferred: the task pauses until it fires; if it fails,
//     the task fails with its error;
//   - a non-nil error: the task fails with it (so does a panic, as a
//     *deferred.PanicError).
//
// A job written as a function reads top to bottom:
//
//	t := coop.Cooperate(func(yield func(any) bool) {
//		for _, row := range rows {
//			process(row)
//			if !yield(nil) {
//				return // the task was stopped
//			}
//		}
//	})
//	t.WhenDone().AddCallback(...)
//
// The reactor's Close stops every Cooperator on it that has unfinished
// tasks, as Stop does, and ends their jobs (see Cooperate).
//
// A Cooperator's methods, and those of its tasks, must be called on the
// reactor goroutine. Each job is driven through iter.Pull: it runs on a
// coroutine goroutine of its own, on the reactor's OS thread, and only
// while the reactor goroutine waits for its next value, so it may touch
// whatever reactor callbacks touch. A Cooperator must be made with
// NewCooperator: the methods of a zero Cooperator fail with an error
// saying so.
type Cooperator struct {
	r     *reactor.Reactor
	slice time.Duration
	clock reactor.Clock
	bad   error // why the Cooperator cannot run anything (a nil reactor)

	tasks   []*CooperativeTask // the running tasks, in turn order
	cur     int                // index in tasks of the next to run a unit
	members []*CooperativeTask // every unfinished task, paused ones too
	unqueue func()             // cancels the slice queued, nil if none
	stopped bool
	refusal error  // what tasks added after the stop fail with
	slicing bool   // runSlice is on the stack
	unhook  func() // removes the OnClose hook, registered while members is not empty
}

// A CooperatorOption configures NewCooperator.
type CooperatorOption func(*Cooperator)

// WithSlice sets how long a slice runs units before the Cooperator yields
// to the reactor (default DefaultSlice). A slice always runs at least one
// unit, so WithSlice(0) runs one unit per pass of the reactor.
func WithSlice(d time.Duration) CooperatorOption {
	return func(c *Cooperator) { c.slice = max(d, 0) }
}

// WithSliceClock sets the clock slices are measured on. The default is
// the system clock (not the reactor's: a slice measures real work, and a
// fake reactor clock would never end one). Tests pass a reactortest.Clock
// and advance it from their work units to make slices deterministic. A
// nil clock is the system clock.
func WithSliceClock(c reactor.Clock) CooperatorOption {
	return func(co *Cooperator) {
		if c == nil {
			c = systemClock{}
		}
		co.clock = c
	}
}

type systemClock struct{}

func (systemClock) Now() time.Time { return time.Now() }

// NewCooperator returns a Cooperator that runs its tasks on r. Nil
// options are ignored. With a nil r, every task given to the Cooperator
// fails at once with an error saying so. Loop goroutine.
func NewCooperator(r *reactor.Reactor, opts ...CooperatorOption) *Cooperator {
	c := &Cooperator{r: r, slice: DefaultSlice, clock: systemClock{}}
	if r == nil {
		c.bad = misuse("NewCooperator given a nil reactor")
	}
	for _, o := range opts {
		if o != nil {
			o(c)
		}
	}
	return c
}

// misuse returns why c cannot run tasks, if it cannot.
func (c *Cooperator) misuse() error {
	switch {
	case c == nil:
		return misuse("Cooperator method called on a nil *Cooperator")
	case c.bad != nil:
		return c.bad
	case c.r == nil:
		return misuse("Cooperator not made with NewCooperator")
	}
	return nil
}

// Cooperate adds the job seq as a new task, which starts on a later
// reactor pass (Twisted's cooperate). Tasks take turns: with several, each
// runs one unit in turn, round-robin, in the order they were added. On a
// stopped Cooperator the task is finished at once, its WhenDone failing
// with ErrCooperatorStopped; so it is on a closed reactor, with an error
// that wraps both ErrCooperatorStopped and reactor.ErrClosed. A
// Cooperator that was not made with NewCooperator, or with a nil reactor,
// gives a task that has failed already (state ErrTaskFailed) with an
// error saying so.
//
// When the reactor is closed, Close finishes every unfinished task, its
// WhenDone Deferreds failing with an error that wraps both
// ErrCooperatorStopped and reactor.ErrClosed, and ends the jobs that
// started: each job's yield returns false, within Close, so that the job
// returns and runs its deferred calls (a panic there is logged) and its
// goroutine ends. A job runs only in unnested reactor passes
// (reactor.CallSoonUnnested), never inside a modal loop deeper than the
// one its coroutine was made in: jobs pause while a modal dialog runs.
// Close ends them at that depth too; one that it cannot reach (Close
// called on another goroutine, or, without the GUI loop's help, after the
// GUI's main loop returned) is left suspended with its parked goroutine,
// and logged. Loop goroutine.
func (c *Cooperator) Cooperate(seq iter.Seq[any]) *CooperativeTask {
	if err := c.misuse(); err != nil {
		return &CooperativeTask{state: ErrTaskFailed, result: err}
	}
	if !c.stopped && c.r.Closed() {
		c.stopWith(errCooperatorClosed)
	}
	if c.stopped {
		return &CooperativeTask{c: c, state: ErrCooperatorStopped, result: c.refusal}
	}
	t := &CooperativeTask{c: c, seq: seq}
	c.members = append(c.members, t)
	if c.unhook == nil {
		c.unhook = c.r.OnClose(func() {
			c.unhook = nil
			c.stopWith(errCooperatorClosed)
		})
	}
	c.add(t)
	return t
}

// Stop stops the Cooperator: every unfinished task, paused or not, is
// finished with ErrCooperatorStopped (its WhenDone Deferreds fail with
// it), and tasks added later are refused the same way. The jobs' yields
// return false on the reactor's next pass (or in its Close, if that comes
// first), so that they can return. Stopping twice does nothing, and so
// does stopping a nil or zero Cooperator. Loop goroutine.
func (c *Cooperator) Stop() {
	if c.misuse() != nil {
		return
	}
	c.stopWith(ErrCooperatorStopped)
}

// stopWith stops c; the WhenDone Deferreds of its tasks fail with err.
func (c *Cooperator) stopWith(err error) {
	if c.stopped {
		return
	}
	c.stopped = true
	c.refusal = err
	for len(c.members) > 0 {
		c.members[0].completeWith(ErrCooperatorStopped, err)
	}
	c.tasks, c.cur = nil, 0
	c.cancelCall()
}

// Running reports whether the Cooperator accepts and runs tasks: true
// until Stop or the reactor's Close, false for a Cooperator that cannot
// run any. Loop goroutine.
func (c *Cooperator) Running() bool {
	return c.misuse() == nil && !c.stopped && !c.r.Closed()
}

func (c *Cooperator) add(t *CooperativeTask) {
	c.tasks = append(c.tasks, t)
	c.reschedule()
}

func (c *Cooperator) remove(t *CooperativeTask) {
	i := slices.Index(c.tasks, t)
	if i < 0 {
		return
	}
	c.tasks = slices.Delete(c.tasks, i, i+1)
	if i < c.cur {
		c.cur--
	}
	if len(c.tasks) == 0 {
		// Nothing left to run: leave no timer behind.
		c.cancelCall()
	}
}

func (c *Cooperator) forget(t *CooperativeTask) {
	if i := slices.Index(c.members, t); i >= 0 {
		c.members = slices.Delete(c.members, i, i+1)
	}
	if len(c.members) == 0 && c.unhook != nil {
		// Nothing left for Close to end: the reactor need not keep c.
		c.unhook()
		c.unhook = nil
	}
}

func (c *Cooperator) cancelCall() {
	if c.unqueue != nil {
		c.unqueue()
		c.unqueue = nil
	}
}

// reschedule arranges for a slice on the next reactor pass if there is
// work and none is arranged. An unnested call queued now runs on the next
// pass, never on the one that queues it, and every pass polls I/O, so
// descriptors get their turn between two slices. Being unnested, it never
// runs in a modal loop nested deeper than the loop the jobs' coroutines
// were made in (resuming them there would abort the program): the jobs
// pause while a modal dialog runs.
func (c *Cooperator) reschedule() {
	if c.unqueue == nil && len(c.tasks) > 0 && !c.stopped {
		c.unqueue = c.r.CallSoonUnnested(c.runSlice)
	}
}

// runSlice runs units, one per task in turn, until the slice is spent or
// no task is left to run.
func (c *Cooperator) runSlice() {
	c.unqueue = nil
	if c.slicing {
		// A nested reactor pass (a modal loop run from inside a unit):
		// the outer slice reschedules when it ends.
		return
	}
	c.slicing = true
	defer func() { c.slicing = false }()
	begin := c.clock.Now()
	for len(c.tasks) > 0 {
		if c.cur >= len(c.tasks) {
			c.cur = 0
		}
		t := c.tasks[c.cur]
		c.cur++
		t.unit()
		if c.clock.Now().Sub(begin) >= c.slice {
			break
		}
	}
	c.reschedule()
}

// A CooperativeTask is a job running in a Cooperator (Twisted's
// CooperativeTask): it can be paused, resumed and stopped, and WhenDone
// tells when it finishes. Tasks are made by Cooperator.Cooperate; the
// methods of a zero CooperativeTask fail with an error saying so. Its
// methods must be called on the reactor goroutine.
type CooperativeTask struct {
	c      *Cooperator
	seq    iter.Seq[any]
	next   func() (any, bool)
	stop   func()
	exited bool // the job's function has returned (or panicked)

	paused  int
	state   error // nil until finished: ErrTaskDone, ErrTaskStopped, ErrTaskFailed or ErrCooperatorStopped
	result  any   // what WhenDone fires with: the task, or an error
	waiters []*deferred.Deferred
}

// WhenDone returns a new Deferred that fires with the *CooperativeTask
// when its job is exhausted, or fails: with the job's error, panic or
// failed Deferred, with ErrTaskStopped after Stop, or with
// ErrCooperatorStopped. Each call returns a new Deferred, so callbacks
// added to one do not change what the others see. On a finished task it
// returns a Deferred that has fired already.
//
// As in Twisted, the Deferreds fire as the job ends, within the step that
// ends it: before calls the job queued with CallSoon on its way, which run
// on the next pass. A job that shows its progress that way would have a
// late update overwrite a final summary written by a WhenDone callback;
// a job may update widgets directly instead, as any reactor callback may
// (in GTK and in Fyne), which keeps the order. Loop goroutine.
func (t *CooperativeTask) WhenDone() *deferred.Deferred {
	if err := t.misuse(); err != nil {
		return deferred.Fail(err)
	}
	d := deferred.New()
	if t.state == nil {
		t.waiters = append(t.waiters, d)
	} else {
		fireWith(d, t.result)
	}
	return d
}

// Pause stops the task from running units until Resume. Pauses nest:
// a task paused twice must be resumed twice. A task waiting on a Deferred
// it yielded counts as paused once more, until that Deferred fires. Pause
// returns the task's state (ErrTaskDone, ErrTaskStopped, ErrTaskFailed or
// ErrCooperatorStopped, all wrapping ErrTaskFinished) if it has finished.
// Loop goroutine.
func (t *CooperativeTask) Pause() error {
	if err := t.misuse(); err != nil {
		return err
	}
	if t.state != nil {
		return t.state
	}
	t.paused++
	if t.paused == 1 {
		t.c.remove(t)
	}
	return nil
}

// Resume undoes one Pause; when none is left, the task takes its turn
// again from the next slice (Resume itself runs no work). It returns
// ErrNotPaused if the task is not paused. Resuming a paused task that was
// stopped meanwhile does nothing more. Loop goroutine.
func (t *CooperativeTask) Resume() error {
	if err := t.misuse(); err != nil {
		return err
	}
	if t.paused == 0 {
		return ErrNotPaused
	}
	t.paused--
	if t.paused == 0 && t.state == nil {
		t.c.add(t)
	}
	return nil
}

// Stop stops the task: it runs no further unit, its WhenDone Deferreds
// fail with ErrTaskStopped, and the job's yield returns false on a later
// pass (or in the reactor's Close, if that comes first) so that the job
// can return and run its deferred calls. Stop may be
// called from inside the job. It returns the task's state if it has
// already finished. Loop goroutine.
func (t *CooperativeTask) Stop() error {
	if err := t.misuse(); err != nil {
		return err
	}
	if t.state != nil {
		return t.state
	}
	t.completeWith(ErrTaskStopped, ErrTaskStopped)
	return nil
}

// misuse returns an error if t was not made by Cooperate.
func (t *CooperativeTask) misuse() error {
	switch {
	case t == nil:
		return misuse("CooperativeTask method called on a nil *CooperativeTask")
	case t.c == nil && t.state == nil:
		return misuse("CooperativeTask not made by Cooperator.Cooperate")
	}
	return nil
}

// unit runs one unit of work: one step of the job.
func (t *CooperativeTask) unit() {
	if t.next == nil {
		if t.seq == nil {
			t.exited = true
			t.completeWith(ErrTaskFailed, errNoSeq)
			return
		}
		// Created here, in an unnested reactor callback, as every
		// resume is, so that the coroutine is always resumed at the
		// depth it was created at (see reactor.CallSoonUnnested).
		t.next, t.stop = iter.Pull(t.hooked(t.seq))
	}
	v, ok, failure := t.step()
	if !ok || failure != nil {
		t.exited = true
	}
	switch {
	case t.state != nil:
		// The task was finished during the step, by the job itself
		// (Stop on its own task or its Cooperator): what it yielded
		// goes nowhere.
		return
	case failure != nil:
		t.completeWith(ErrTaskFailed, failure)
		return
	case !ok:
		t.completeWith(ErrTaskDone, t)
		return
	}
	switch v := v.(type) {
	case *deferred.Deferred:
		if v == nil {
			return
		}
		t.Pause()
		v.AddCallbacks(func(any) any {
			t.Resume()
			return nil
		}, func(err error) any {
			if t.state == nil {
				t.completeWith(ErrTaskFailed, err)
			}
			return nil
		})
	case error:
		if v != nil {
			t.completeWith(ErrTaskFailed, v)
		}
	}
}

// hooked wraps the job so that its goroutine runs the reactor's
// coroutine hooks (reactor.SetCoroutineHooks) each time it starts or
// resumes running, and before it gives the thread back.
func (t *CooperativeTask) hooked(seq iter.Seq[any]) iter.Seq[any] {
	r := t.c.r
	return func(yield func(any) bool) {
		r.EnterCoroutine()
		defer r.LeaveCoroutine()
		seq(func(v any) bool {
			r.LeaveCoroutine()
			more := yield(v)
			r.EnterCoroutine()
			return more
		})
	}
}

// step resumes the job, turning a panic into a Failure.
func (t *CooperativeTask) step() (v any, ok bool, failure error) {
	defer func() {
		if p := recover(); p != nil {
			failure = deferred.NewFailure(&deferred.PanicError{Value: p})
		}
	}()
	v, ok = t.next()
	return v, ok, nil
}

// completeWith finishes the task: state is what its methods report from
// now on, result what its WhenDone Deferreds fire with (an error fails
// them).
func (t *CooperativeTask) completeWith(state error, result any) {
	t.state = state
	t.result = result
	t.c.remove(t)
	t.c.forget(t)
	if t.stop != nil {
		if t.exited {
			t.endJob() // returns at once: the job has returned
		} else {
			// Stopping resumes the job so that its yield returns false.
			// The job may be the caller (a task stopping itself), so do
			// it on the next pass, from an unnested reactor callback like
			// every other resume; Close runs such calls too, at the
			// loop's depth.
			t.c.r.CallSoonUnnested(t.endJob)
		}
	}
	// Fire the Deferreds last: their callbacks may work on the Cooperator,
	// which must already be done with this task.
	ws := t.waiters
	t.waiters = nil
	for _, d := range ws {
		fireWith(d, result)
	}
}

// endJob tells the finished task's job to return: its yield returns
// false (if it has not returned already).
func (t *CooperativeTask) endJob() {
	stop := t.stop
	if stop == nil {
		return
	}
	t.stop = nil
	stop()
}

func fireWith(d *deferred.Deferred, result any) {
	if err, ok := result.(error); ok {
		d.Errback(err)
		return
	}
	d.Callback(result)
}
