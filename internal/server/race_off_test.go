//go:build !race

package server

const allocScale = 1
