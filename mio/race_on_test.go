//go:build race

package mio

const raceEnabled = true
