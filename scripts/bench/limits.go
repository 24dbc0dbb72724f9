package main

import (
	"fmt"
	"io"
	"net"
	"os"
	"time"

	"syscall"
)

// machineLimits are what this machine moves without any broker: the
// ceilings the suite's figures are read against, measured in the same run.
type machineLimits struct {
	loopbackMBps    float64 // one TCP connection over loopback, 256 KiB writes
	appendMBps      float64 // sequential 1 MiB appends to a file, page cache only
	syncAppendMBps  float64 // the same with fdatasync after every append
	smallSyncPerSec float64 // 4 KiB appends, each followed by fdatasync
}

// limitSizes bounds the limit measurements (smaller in --quick runs).
type limitSizes struct {
	duration    time.Duration // per timed measurement
	appendBytes int64         // data written by the page-cache append test
}

const limitChunk = 1 << 20

// measureLimits runs each measurement three times and keeps the median.
func measureLimits(dir string, sizes limitSizes) (machineLimits, error) {
	var limits machineLimits
	steps := []struct {
		into *float64
		run  func() (float64, error)
	}{
		{&limits.loopbackMBps, func() (float64, error) { return loopbackMBps(sizes.duration) }},
		{&limits.appendMBps, func() (float64, error) { return appendMBps(dir, sizes.appendBytes) }},
		{&limits.syncAppendMBps, func() (float64, error) { return syncAppendRate(dir, limitChunk, sizes.duration, true) }},
		{&limits.smallSyncPerSec, func() (float64, error) { return syncAppendRate(dir, 4096, sizes.duration, false) }},
	}
	for _, step := range steps {
		var samples []float64
		for range 3 {
			value, err := step.run()
			if err != nil {
				return limits, err
			}
			samples = append(samples, value)
		}
		*step.into, _ = summarize(samples)
	}
	return limits, nil
}

// loopbackMBps streams 256 KiB writes over one loopback TCP connection for
// duration and returns MB/s received.
func loopbackMBps(duration time.Duration) (float64, error) {
	listener, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer listener.Close()
	received := make(chan int64, 1)
	go func() {
		conn, err := listener.Accept()
		if err != nil {
			received <- 0
			return
		}
		defer conn.Close()
		n, _ := io.Copy(io.Discard, conn)
		received <- n
	}()
	conn, err := net.Dial("tcp", listener.Addr().String())
	if err != nil {
		return 0, err
	}
	buffer := make([]byte, 256<<10)
	started := time.Now()
	for time.Since(started) < duration {
		if _, err := conn.Write(buffer); err != nil {
			conn.Close()
			return 0, err
		}
	}
	conn.Close()
	total := <-received
	return float64(total) / time.Since(started).Seconds() / 1e6, nil
}

// appendMBps appends total bytes in 1 MiB writes to a new file (no sync)
// and returns MB/s.
func appendMBps(dir string, total int64) (float64, error) {
	file, err := os.CreateTemp(dir, "limit-append-")
	if err != nil {
		return 0, err
	}
	defer os.Remove(file.Name())
	defer file.Close()
	buffer := make([]byte, limitChunk)
	started := time.Now()
	for written := int64(0); written < total; written += limitChunk {
		if _, err := file.Write(buffer); err != nil {
			return 0, err
		}
	}
	return float64(total) / time.Since(started).Seconds() / 1e6, nil
}

// syncAppendRate appends chunk-byte writes, each followed by fdatasync, for
// duration; it returns MB/s (inMB) or appends per second.
func syncAppendRate(dir string, chunk int, duration time.Duration, inMB bool) (float64, error) {
	file, err := os.CreateTemp(dir, "limit-sync-")
	if err != nil {
		return 0, err
	}
	defer os.Remove(file.Name())
	defer file.Close()
	buffer := make([]byte, chunk)
	started := time.Now()
	count := 0
	for ; count < 1_000_000 && (count == 0 || time.Since(started) < duration); count++ {
		if _, err := file.Write(buffer); err != nil {
			return 0, err
		}
		if err := syscall.Fdatasync(int(file.Fd())); err != nil {
			return 0, fmt.Errorf("fdatasync: %w", err)
		}
	}
	elapsed := time.Since(started).Seconds()
	if inMB {
		return float64(count) * float64(chunk) / elapsed / 1e6, nil
	}
	return float64(count) / elapsed, nil
}
