package gtkloop

import (
	"github.com/gotk3/gotk3/gtk"
	"github.com/loomkit/loom/internal/inspect"
	"github.com/loomkit/loom/reactor"
)

// The open inspector's insides, for the tests. All of these run on the
// GTK thread.

// InspectorWindow is the window of r's open inspector, nil for none.
func InspectorWindow(r *reactor.Reactor) *gtk.Window {
	if in := inspectors[r]; in != nil {
		return in.win
	}
	return nil
}

// InspectorFigures reads the figures r's open inspector shows from its
// labels, by name (see view.figures); nil for none open.
func InspectorFigures(r *reactor.Reactor) map[string]string {
	in := inspectors[r]
	if in == nil {
		return nil
	}
	out := make(map[string]string, len(in.figures))
	for key, f := range in.figures {
		out[key], _ = f.label.GetText()
	}
	return out
}

// InspectorRows reads the rows of a list of r's open inspector, "slow"
// or "fds", from its list store.
func InspectorRows(r *reactor.Reactor, list string) [][]string {
	in := inspectors[r]
	if in == nil {
		return nil
	}
	t, ncol := in.slow, len(slowColumns)
	if list == "fds" {
		t, ncol = in.fds, len(fdColumns)
	}
	var rows [][]string
	for iter, ok := t.store.GetIterFirst(); ok; ok = t.store.IterNext(iter) {
		row := make([]string, ncol)
		for i := range row {
			if v, err := t.store.GetValue(iter, i); err == nil {
				row[i], _ = v.GetString()
			}
		}
		rows = append(rows, row)
	}
	return rows
}

// InspectorUpdate makes r's open inspector read the reactor now.
func InspectorUpdate(r *reactor.Reactor) { inspectors[r].update() }

// InspectorTicks counts the updates of r's open inspector that its timer
// ran.
func InspectorTicks(r *reactor.Reactor) int { return inspectors[r].ticks }

// InspectorDuration, ShortSite and ShortFunc are how the inspector
// writes durations, sites and function names.
var (
	InspectorDuration = duration
	ShortSite         = inspect.ShortSite
	ShortFunc         = inspect.ShortFunc
)
