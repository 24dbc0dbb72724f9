//go:build race

package server

// allocScale: the race detector roughly doubles heap allocation sizes.
const allocScale = 2
