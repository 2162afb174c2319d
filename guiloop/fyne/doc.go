// Package fyneloop drives a loom reactor from a Fyne app's event loop.
package fyneloop
